package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** How scale-down decisions are made. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PoolScaleDownPolicy {
  /** Minimum idle time before a pod may be scaled down. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("300")
  @JsonProperty("idleTimeoutSeconds")
  private Integer idleTimeoutSeconds;

  /** Minimum seconds between scale-downs. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("60")
  @JsonProperty("stabilizationSeconds")
  private Integer stabilizationSeconds;

  /** Window after marking a pod for scale-down in which a claim cancels the removal. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("10")
  @JsonProperty("protectionWindowSeconds")
  private Integer protectionWindowSeconds;

  public Integer getIdleTimeoutSeconds() {
    return idleTimeoutSeconds;
  }

  public void setIdleTimeoutSeconds(Integer idleTimeoutSeconds) {
    this.idleTimeoutSeconds = idleTimeoutSeconds;
  }

  public Integer getStabilizationSeconds() {
    return stabilizationSeconds;
  }

  public void setStabilizationSeconds(Integer stabilizationSeconds) {
    this.stabilizationSeconds = stabilizationSeconds;
  }

  public Integer getProtectionWindowSeconds() {
    return protectionWindowSeconds;
  }

  public void setProtectionWindowSeconds(Integer protectionWindowSeconds) {
    this.protectionWindowSeconds = protectionWindowSeconds;
  }
}
