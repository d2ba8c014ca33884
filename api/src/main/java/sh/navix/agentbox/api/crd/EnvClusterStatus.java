package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Observed state of one cluster segment of an Env. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvClusterStatus {
  @io.fabric8.generator.annotation.Required
  @JsonProperty("clusterID")
  private String clusterID;

  /** True on the worker that owns this segment. */
  @JsonProperty("isLocal")
  private Boolean isLocal;

  @JsonProperty("observedMembers")
  private List<EnvObservedMember> observedMembers;

  /** RFC3339 time of the last update. */
  @JsonProperty("lastSnapshotTime")
  private String lastSnapshotTime;

  public String getClusterID() {
    return clusterID;
  }

  public void setClusterID(String clusterID) {
    this.clusterID = clusterID;
  }

  public Boolean getIsLocal() {
    return isLocal;
  }

  public void setIsLocal(Boolean isLocal) {
    this.isLocal = isLocal;
  }

  public List<EnvObservedMember> getObservedMembers() {
    return observedMembers;
  }

  public void setObservedMembers(List<EnvObservedMember> observedMembers) {
    this.observedMembers = observedMembers;
  }

  public String getLastSnapshotTime() {
    return lastSnapshotTime;
  }

  public void setLastSnapshotTime(String lastSnapshotTime) {
    this.lastSnapshotTime = lastSnapshotTime;
  }
}
