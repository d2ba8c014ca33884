package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Desired state of a SandboxEnv: one template, member pools per cluster, autoscaling and overrides. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxEnvSpec {
  /** The template every member pool uses. */
  @io.fabric8.generator.annotation.Required
  @JsonProperty("templateRef")
  private SandboxEnvTemplateRef templateRef;

  /** WarmPool or OnDemandJob. */
  @io.fabric8.generator.annotation.Required
  @io.fabric8.generator.annotation.Default("WarmPool")
  @JsonProperty("mode")
  private SandboxEnvMode mode;

  /** Default instance shape. */
  @JsonProperty("defaults")
  private SandboxEnvDefaults defaults;

  /** Per-cluster member lists, keyed by clusterID. */
  @JsonProperty("clusters")
  private List<EnvClusterSpec> clusters;

  /** Env-level autoscaler. */
  @JsonProperty("autoscaling")
  private EnvAutoscalingSpec autoscaling;

  /** Env-wide template overrides. */
  @JsonProperty("overrides")
  private EnvOverridesSpec overrides;

  public SandboxEnvTemplateRef getTemplateRef() {
    return templateRef;
  }

  public void setTemplateRef(SandboxEnvTemplateRef templateRef) {
    this.templateRef = templateRef;
  }

  public SandboxEnvMode getMode() {
    return mode;
  }

  public void setMode(SandboxEnvMode mode) {
    this.mode = mode;
  }

  public SandboxEnvDefaults getDefaults() {
    return defaults;
  }

  public void setDefaults(SandboxEnvDefaults defaults) {
    this.defaults = defaults;
  }

  public List<EnvClusterSpec> getClusters() {
    return clusters;
  }

  public void setClusters(List<EnvClusterSpec> clusters) {
    this.clusters = clusters;
  }

  public EnvAutoscalingSpec getAutoscaling() {
    return autoscaling;
  }

  public void setAutoscaling(EnvAutoscalingSpec autoscaling) {
    this.autoscaling = autoscaling;
  }

  public EnvOverridesSpec getOverrides() {
    return overrides;
  }

  public void setOverrides(EnvOverridesSpec overrides) {
    this.overrides = overrides;
  }
}
