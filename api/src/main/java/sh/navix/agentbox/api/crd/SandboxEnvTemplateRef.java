package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Points at a cluster-scoped SandboxTemplate, optionally pinned to a version. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxEnvTemplateRef {
  /** SandboxTemplate name. */
  @io.fabric8.generator.annotation.Required
  @JsonProperty("name")
  private String name;

  /** Pinned template version; empty follows the current one. */
  @JsonProperty("version")
  private String version;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public String getVersion() {
    return version;
  }

  public void setVersion(String version) {
    this.version = version;
  }
}
