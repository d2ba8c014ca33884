package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** User-declared intent for one Env member: sizing, scaling group, replica bounds and priorities. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvClusterMemberConfig {
  /** Caller-supplied pool labels. */
  @JsonProperty("labels")
  private Map<String, String> labels;

  /** Caller-supplied pool annotations. */
  @JsonProperty("annotations")
  private Map<String, String> annotations;

  /** Entry of the InstanceType catalog. */
  @JsonProperty("instanceType")
  private String instanceType;

  /** Scales instanceType's resources. */
  @io.fabric8.generator.annotation.Min(0)
  @JsonProperty("multiplier")
  private Integer multiplier;

  /** Resources when no instance type is used. */
  @JsonProperty("inlineResources")
  private io.fabric8.kubernetes.api.model.ResourceRequirements inlineResources;

  /** Autoscaling group; empty excludes the member from autoscaling. */
  @io.fabric8.generator.annotation.Default("default")
  @JsonProperty("scalingGroup")
  private String scalingGroup;

  /** Floor of this member's replicas. */
  @io.fabric8.generator.annotation.Min(0)
  @JsonProperty("minReplicas")
  private Integer minReplicas;

  /** Ceiling of this member's replicas. */
  @io.fabric8.generator.annotation.Min(0)
  @JsonProperty("maxReplicas")
  private Integer maxReplicas;

  /** Routing/scaling preference: lower wins. */
  @JsonProperty("priority")
  private Integer priority;

  /** Overrides priority for scale-up ordering. */
  @JsonProperty("scaleUpPriority")
  private Integer scaleUpPriority;

  /** Overrides priority for scale-down ordering (higher shrinks first). */
  @JsonProperty("scaleDownPriority")
  private Integer scaleDownPriority;

  public Map<String, String> getLabels() {
    return labels;
  }

  public void setLabels(Map<String, String> labels) {
    this.labels = labels;
  }

  public Map<String, String> getAnnotations() {
    return annotations;
  }

  public void setAnnotations(Map<String, String> annotations) {
    this.annotations = annotations;
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

  public io.fabric8.kubernetes.api.model.ResourceRequirements getInlineResources() {
    return inlineResources;
  }

  public void setInlineResources(io.fabric8.kubernetes.api.model.ResourceRequirements inlineResources) {
    this.inlineResources = inlineResources;
  }

  public String getScalingGroup() {
    return scalingGroup;
  }

  public void setScalingGroup(String scalingGroup) {
    this.scalingGroup = scalingGroup;
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

  public Integer getPriority() {
    return priority;
  }

  public void setPriority(Integer priority) {
    this.priority = priority;
  }

  public Integer getScaleUpPriority() {
    return scaleUpPriority;
  }

  public void setScaleUpPriority(Integer scaleUpPriority) {
    this.scaleUpPriority = scaleUpPriority;
  }

  public Integer getScaleDownPriority() {
    return scaleDownPriority;
  }

  public void setScaleDownPriority(Integer scaleDownPriority) {
    this.scaleDownPriority = scaleDownPriority;
  }
}
