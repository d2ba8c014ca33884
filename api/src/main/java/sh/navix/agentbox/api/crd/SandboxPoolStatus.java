package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/** Observed state of a SandboxPool. observedGeneration is our addition to the published type (the reconciler reports which spec it acted on). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxPoolStatus {
  /** High-level summary: Terminating, Pending, ScalingUp, ScalingDown, Degraded or Ready, in that priority. */
  @JsonProperty("phase")
  private SandboxPoolPhase phase;

  /** Pods in idle phase. */
  @JsonProperty("idleReplicas")
  private Integer idleReplicas;

  /** Idle pods whose PodReady condition is not True; non-zero makes the pool Degraded. */
  @JsonProperty("unavailableIdleReplicas")
  private Integer unavailableIdleReplicas;

  /** Pods in running phase. */
  @io.fabric8.kubernetes.model.annotation.StatusReplicas
  @JsonProperty("runningReplicas")
  private Integer runningReplicas;

  /** Pods being activated (idle to running). */
  @JsonProperty("startingReplicas")
  private Integer startingReplicas;

  /** Pods being recycled (running to idle). */
  @JsonProperty("stoppingReplicas")
  private Integer stoppingReplicas;

  /** Pods in failed phase. */
  @JsonProperty("failedReplicas")
  private Integer failedReplicas;

  /** Throttled mirror of the claim queue length. */
  @JsonProperty("pendingRequests")
  private Integer pendingRequests;

  /** Label selector string of the pool's pods (for kubectl scale / HPA). */
  @io.fabric8.kubernetes.model.annotation.LabelSelector
  @JsonProperty("selector")
  private String selector;

  /** Structured form of selector. */
  @JsonProperty("labelSelector")
  private io.fabric8.kubernetes.api.model.LabelSelector labelSelector;

  /** Label selector per phase: all, idle, running, starting, stopping, failed. */
  @JsonProperty("phaseSelectors")
  private Map<String, String> phaseSelectors;

  /** Available, Scaling and Degraded conditions. */
  @JsonProperty("conditions")
  private List<io.fabric8.kubernetes.api.model.Condition> conditions;

  /** Autoscaler bookkeeping; absent when autoscaling is off. */
  @JsonProperty("autoscaling")
  private PoolAutoScalingStatus autoscaling;

  /** metadata.generation the reconciler last acted on. */
  @JsonProperty("observedGeneration")
  private Long observedGeneration;

  public SandboxPoolPhase getPhase() {
    return phase;
  }

  public void setPhase(SandboxPoolPhase phase) {
    this.phase = phase;
  }

  public Integer getIdleReplicas() {
    return idleReplicas;
  }

  public void setIdleReplicas(Integer idleReplicas) {
    this.idleReplicas = idleReplicas;
  }

  public Integer getUnavailableIdleReplicas() {
    return unavailableIdleReplicas;
  }

  public void setUnavailableIdleReplicas(Integer unavailableIdleReplicas) {
    this.unavailableIdleReplicas = unavailableIdleReplicas;
  }

  public Integer getRunningReplicas() {
    return runningReplicas;
  }

  public void setRunningReplicas(Integer runningReplicas) {
    this.runningReplicas = runningReplicas;
  }

  public Integer getStartingReplicas() {
    return startingReplicas;
  }

  public void setStartingReplicas(Integer startingReplicas) {
    this.startingReplicas = startingReplicas;
  }

  public Integer getStoppingReplicas() {
    return stoppingReplicas;
  }

  public void setStoppingReplicas(Integer stoppingReplicas) {
    this.stoppingReplicas = stoppingReplicas;
  }

  public Integer getFailedReplicas() {
    return failedReplicas;
  }

  public void setFailedReplicas(Integer failedReplicas) {
    this.failedReplicas = failedReplicas;
  }

  public Integer getPendingRequests() {
    return pendingRequests;
  }

  public void setPendingRequests(Integer pendingRequests) {
    this.pendingRequests = pendingRequests;
  }

  public String getSelector() {
    return selector;
  }

  public void setSelector(String selector) {
    this.selector = selector;
  }

  public io.fabric8.kubernetes.api.model.LabelSelector getLabelSelector() {
    return labelSelector;
  }

  public void setLabelSelector(io.fabric8.kubernetes.api.model.LabelSelector labelSelector) {
    this.labelSelector = labelSelector;
  }

  public Map<String, String> getPhaseSelectors() {
    return phaseSelectors;
  }

  public void setPhaseSelectors(Map<String, String> phaseSelectors) {
    this.phaseSelectors = phaseSelectors;
  }

  public List<io.fabric8.kubernetes.api.model.Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    this.conditions = conditions;
  }

  public PoolAutoScalingStatus getAutoscaling() {
    return autoscaling;
  }

  public void setAutoscaling(PoolAutoScalingStatus autoscaling) {
    this.autoscaling = autoscaling;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }
}
