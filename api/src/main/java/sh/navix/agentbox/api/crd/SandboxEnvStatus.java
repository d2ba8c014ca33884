package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Observed state of a SandboxEnv. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxEnvStatus {
  /** Ready, TemplateConsistent, AutoscalingActive. */
  @JsonProperty("conditions")
  private List<io.fabric8.kubernetes.api.model.Condition> conditions;

  @JsonProperty("clusters")
  private List<EnvClusterStatus> clusters;

  @JsonProperty("scalingGroups")
  private List<EnvScalingGroupStatus> scalingGroups;

  @JsonProperty("memberCount")
  private Integer memberCount;

  @JsonProperty("desiredReplicas")
  private Integer desiredReplicas;

  @JsonProperty("runningReplicas")
  private Integer runningReplicas;

  @JsonProperty("idleReplicas")
  private Integer idleReplicas;

  public List<io.fabric8.kubernetes.api.model.Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    this.conditions = conditions;
  }

  public List<EnvClusterStatus> getClusters() {
    return clusters;
  }

  public void setClusters(List<EnvClusterStatus> clusters) {
    this.clusters = clusters;
  }

  public List<EnvScalingGroupStatus> getScalingGroups() {
    return scalingGroups;
  }

  public void setScalingGroups(List<EnvScalingGroupStatus> scalingGroups) {
    this.scalingGroups = scalingGroups;
  }

  public Integer getMemberCount() {
    return memberCount;
  }

  public void setMemberCount(Integer memberCount) {
    this.memberCount = memberCount;
  }

  public Integer getDesiredReplicas() {
    return desiredReplicas;
  }

  public void setDesiredReplicas(Integer desiredReplicas) {
    this.desiredReplicas = desiredReplicas;
  }

  public Integer getRunningReplicas() {
    return runningReplicas;
  }

  public void setRunningReplicas(Integer runningReplicas) {
    this.runningReplicas = runningReplicas;
  }

  public Integer getIdleReplicas() {
    return idleReplicas;
  }

  public void setIdleReplicas(Integer idleReplicas) {
    this.idleReplicas = idleReplicas;
  }
}
