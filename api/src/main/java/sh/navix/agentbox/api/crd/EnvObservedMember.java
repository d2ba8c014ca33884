package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Observed runtime state of one Env member. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvObservedMember {
  /** Member name. */
  @io.fabric8.generator.annotation.Required
  @JsonProperty("name")
  private String name;

  @JsonProperty("instanceType")
  private String instanceType;

  @JsonProperty("multiplier")
  private Integer multiplier;

  /** Resolved per-pod resources. */
  @JsonProperty("effectiveResources")
  private io.fabric8.kubernetes.api.model.ResourceRequirements effectiveResources;

  @JsonProperty("state")
  private ObservedMemberState state;

  @JsonProperty("idleCount")
  private Integer idleCount;

  @JsonProperty("runningCount")
  private Integer runningCount;

  /** Last value the autoscaler patched onto the pool. */
  @JsonProperty("desiredReplicas")
  private Integer desiredReplicas;

  /** Last value observed on the pool spec. */
  @JsonProperty("currentReplicas")
  private Integer currentReplicas;

  /** Mirror of the pool's claim queue length. */
  @JsonProperty("pendingRequests")
  private Integer pendingRequests;

  /** RFC3339 time until which the member is not routed to first. */
  @JsonProperty("saturatedUntil")
  private String saturatedUntil;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public String getInstanceType() {
    return instanceType;
  }

  public void setInstanceType(String instanceType) {
    this.instanceType = instanceType;
  }

  public Integer getMultiplier() {
    return multiplier;
  }

  public void setMultiplier(Integer multiplier) {
    this.multiplier = multiplier;
  }

  public io.fabric8.kubernetes.api.model.ResourceRequirements getEffectiveResources() {
    return effectiveResources;
  }

  public void setEffectiveResources(io.fabric8.kubernetes.api.model.ResourceRequirements effectiveResources) {
    this.effectiveResources = effectiveResources;
  }

  public ObservedMemberState getState() {
    return state;
  }

  public void setState(ObservedMemberState state) {
    this.state = state;
  }

  public Integer getIdleCount() {
    return idleCount;
  }

  public void setIdleCount(Integer idleCount) {
    this.idleCount = idleCount;
  }

  public Integer getRunningCount() {
    return runningCount;
  }

  public void setRunningCount(Integer runningCount) {
    this.runningCount = runningCount;
  }

  public Integer getDesiredReplicas() {
    return desiredReplicas;
  }

  public void setDesiredReplicas(Integer desiredReplicas) {
    this.desiredReplicas = desiredReplicas;
  }

  public Integer getCurrentReplicas() {
    return currentReplicas;
  }

  public void setCurrentReplicas(Integer currentReplicas) {
    this.currentReplicas = currentReplicas;
  }

  public Integer getPendingRequests() {
    return pendingRequests;
  }

  public void setPendingRequests(Integer pendingRequests) {
    this.pendingRequests = pendingRequests;
  }

  public String getSaturatedUntil() {
    return saturatedUntil;
  }

  public void setSaturatedUntil(String saturatedUntil) {
    this.saturatedUntil = saturatedUntil;
  }
}
