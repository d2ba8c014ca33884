package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** Scheduler integration settings for each sandbox pod. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxReservationSpec {
  @JsonProperty("priorityClassName")
  private String priorityClassName;

  @JsonProperty("replicaQuota")
  private Map<String, io.fabric8.kubernetes.api.model.Quantity> replicaQuota;

  public String getPriorityClassName() {
    return priorityClassName;
  }

  public void setPriorityClassName(String priorityClassName) {
    this.priorityClassName = priorityClassName;
  }

  public Map<String, io.fabric8.kubernetes.api.model.Quantity> getReplicaQuota() {
    return replicaQuota;
  }

  public void setReplicaQuota(Map<String, io.fabric8.kubernetes.api.model.Quantity> replicaQuota) {
    this.replicaQuota = replicaQuota;
  }
}
