package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** One SandboxPool taking part in an Env. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvClusterMember {
  /** The member pool's name; list map key. */
  @io.fabric8.generator.annotation.Required
  @JsonProperty("name")
  private String name;

  /** Snapshot of the pool's labels and annotations after admission. */
  @JsonProperty("metadata")
  private MemberMetadata metadata;

  /** Snapshot of the pool spec stamped onto the live pool. */
  @JsonProperty("spec")
  private SandboxPoolSpec spec;

  /** User-declared intent. */
  @JsonProperty("config")
  private EnvClusterMemberConfig config;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public MemberMetadata getMetadata() {
    return metadata;
  }

  public void setMetadata(MemberMetadata metadata) {
    this.metadata = metadata;
  }

  public SandboxPoolSpec getSpec() {
    return spec;
  }

  public void setSpec(SandboxPoolSpec spec) {
    this.spec = spec;
  }

  public EnvClusterMemberConfig getConfig() {
    return config;
  }

  public void setConfig(EnvClusterMemberConfig config) {
    this.config = config;
  }
}
