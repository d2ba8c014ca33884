package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** One Env autoscaling unit, applied jointly to the members of its group. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@io.fabric8.generator.annotation.ValidationRule(value = "self.scaleUpPolicy.mode != 'Aggressive' || has(self.maxReplicas)", message = "Aggressive scaleUpPolicy.mode requires maxReplicas to be set on the group — Aggressive doubles the replica count each cooldown and would otherwise grow without bound")
public class EnvAutoscalingGroup {
  /** Matches EnvClusterMemberConfig.scalingGroup. */
  @io.fabric8.generator.annotation.Required
  @JsonProperty("name")
  private String name;

  /** Toggles the autoscaler for this group. */
  @io.fabric8.generator.annotation.Default("false")
  @JsonProperty("enabled")
  private Boolean enabled;

  /** Lower bound of the group's total replicas. */
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.generator.annotation.Default("0")
  @JsonProperty("minReplicas")
  private Integer minReplicas;

  /** Upper bound of the group's total replicas; required by Aggressive mode. */
  @io.fabric8.generator.annotation.Min(0)
  @JsonProperty("maxReplicas")
  private Integer maxReplicas;

  /** Scale-up policy. */
  @JsonProperty("scaleUpPolicy")
  private PoolScaleUpPolicy scaleUpPolicy;

  /** Scale-down policy. */
  @JsonProperty("scaleDownPolicy")
  private PoolScaleDownPolicy scaleDownPolicy;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Boolean getEnabled() {
    return enabled;
  }

  public void setEnabled(Boolean enabled) {
    this.enabled = enabled;
  }

  public Integer getMinReplicas() {
    return minReplicas;
  }

  public void setMinReplicas(Integer minReplicas) {
    this.minReplicas = minReplicas;
  }

  public Integer getMaxReplicas() {
    return maxReplicas;
  }

  public void setMaxReplicas(Integer maxReplicas) {
    this.maxReplicas = maxReplicas;
  }

  public PoolScaleUpPolicy getScaleUpPolicy() {
    return scaleUpPolicy;
  }

  public void setScaleUpPolicy(PoolScaleUpPolicy scaleUpPolicy) {
    this.scaleUpPolicy = scaleUpPolicy;
  }

  public PoolScaleDownPolicy getScaleDownPolicy() {
    return scaleDownPolicy;
  }

  public void setScaleDownPolicy(PoolScaleDownPolicy scaleDownPolicy) {
    this.scaleDownPolicy = scaleDownPolicy;
  }
}
