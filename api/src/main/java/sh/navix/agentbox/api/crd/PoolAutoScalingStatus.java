package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** The pool autoscaler's decision-time bookkeeping (RFC3339 times). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PoolAutoScalingStatus {
  /** Last scale-up that increased spec.replicas. */
  @JsonProperty("lastScaleUpTime")
  private String lastScaleUpTime;

  /** Last successful scale-down. */
  @JsonProperty("lastScaleDownTime")
  private String lastScaleDownTime;

  /** Start of the current window in which idle replicas stayed at zero. */
  @JsonProperty("idleZeroSince")
  private String idleZeroSince;

  /** Last scale-up admission probe, whatever its outcome. */
  @JsonProperty("lastScaleUpAttemptTime")
  private String lastScaleUpAttemptTime;

  /** Outcome of the last probe. */
  @JsonProperty("lastScaleUpAttemptResult")
  private PoolScaleUpAttemptResult lastScaleUpAttemptResult;

  /** Single-line description of the last non-Enough result. */
  @JsonProperty("scaleUpErrorMessage")
  private String scaleUpErrorMessage;

  /** metadata.generation when this block was last written. */
  @JsonProperty("observedGeneration")
  private Long observedGeneration;

  public String getLastScaleUpTime() {
    return lastScaleUpTime;
  }

  public void setLastScaleUpTime(String lastScaleUpTime) {
    this.lastScaleUpTime = lastScaleUpTime;
  }

  public String getLastScaleDownTime() {
    return lastScaleDownTime;
  }

  public void setLastScaleDownTime(String lastScaleDownTime) {
    this.lastScaleDownTime = lastScaleDownTime;
  }

  public String getIdleZeroSince() {
    return idleZeroSince;
  }

  public void setIdleZeroSince(String idleZeroSince) {
    this.idleZeroSince = idleZeroSince;
  }

  public String getLastScaleUpAttemptTime() {
    return lastScaleUpAttemptTime;
  }

  public void setLastScaleUpAttemptTime(String lastScaleUpAttemptTime) {
    this.lastScaleUpAttemptTime = lastScaleUpAttemptTime;
  }

  public PoolScaleUpAttemptResult getLastScaleUpAttemptResult() {
    return lastScaleUpAttemptResult;
  }

  public void setLastScaleUpAttemptResult(PoolScaleUpAttemptResult lastScaleUpAttemptResult) {
    this.lastScaleUpAttemptResult = lastScaleUpAttemptResult;
  }

  public String getScaleUpErrorMessage() {
    return scaleUpErrorMessage;
  }

  public void setScaleUpErrorMessage(String scaleUpErrorMessage) {
    this.scaleUpErrorMessage = scaleUpErrorMessage;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }
}
