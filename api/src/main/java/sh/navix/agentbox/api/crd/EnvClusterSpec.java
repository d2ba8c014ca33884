package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** The per-cluster part of an Env spec. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvClusterSpec {
  /** Cluster owning this segment. */
  @io.fabric8.generator.annotation.Required
  @JsonProperty("clusterID")
  private String clusterID;

  /** Member pools of this cluster. */
  @JsonProperty("members")
  private List<EnvClusterMember> members;

  public String getClusterID() {
    return clusterID;
  }

  public void setClusterID(String clusterID) {
    this.clusterID = clusterID;
  }

  public List<EnvClusterMember> getMembers() {
    return members;
  }

  public void setMembers(List<EnvClusterMember> members) {
    this.members = members;
  }
}
