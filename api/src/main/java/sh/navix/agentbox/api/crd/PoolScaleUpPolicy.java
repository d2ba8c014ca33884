package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** How scale-up decisions are made. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PoolScaleUpPolicy {
  /** Growth per decision. */
  @io.fabric8.generator.annotation.Default("Default")
  @JsonProperty("mode")
  private PoolScaleUpMode mode;

  /** Minimum seconds between scale-ups. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("30")
  @JsonProperty("cooldownSeconds")
  private Integer cooldownSeconds;

  /** Proactive scale-up after idle stayed at zero this long; 0 disables. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("30")
  @JsonProperty("idleThresholdSeconds")
  private Integer idleThresholdSeconds;

  /** No proactive scale-up when no create was seen in this window; 0 disables the gate. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("300")
  @JsonProperty("idleZeroQuietWindowSeconds")
  private Integer idleZeroQuietWindowSeconds;

  /** How long a saturated member stays marked. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("60")
  @JsonProperty("saturationCooldownSeconds")
  private Integer saturationCooldownSeconds;

  public PoolScaleUpMode getMode() {
    return mode;
  }

  public void setMode(PoolScaleUpMode mode) {
    this.mode = mode;
  }

  public Integer getCooldownSeconds() {
    return cooldownSeconds;
  }

  public void setCooldownSeconds(Integer cooldownSeconds) {
    this.cooldownSeconds = cooldownSeconds;
  }

  public Integer getIdleThresholdSeconds() {
    return idleThresholdSeconds;
  }

  public void setIdleThresholdSeconds(Integer idleThresholdSeconds) {
    this.idleThresholdSeconds = idleThresholdSeconds;
  }

  public Integer getIdleZeroQuietWindowSeconds() {
    return idleZeroQuietWindowSeconds;
  }

  public void setIdleZeroQuietWindowSeconds(Integer idleZeroQuietWindowSeconds) {
    this.idleZeroQuietWindowSeconds = idleZeroQuietWindowSeconds;
  }

  public Integer getSaturationCooldownSeconds() {
    return saturationCooldownSeconds;
  }

  public void setSaturationCooldownSeconds(Integer saturationCooldownSeconds) {
    this.saturationCooldownSeconds = saturationCooldownSeconds;
  }
}
