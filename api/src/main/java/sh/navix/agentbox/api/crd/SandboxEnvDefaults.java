package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Default instance shape for creates that do not name one. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxEnvDefaults {
  /** Entry of the cluster-wide InstanceType catalog. */
  @JsonProperty("instanceType")
  private String instanceType;

  /** Scales the instance type's resources. */
  @io.fabric8.generator.annotation.Min(1)
  @JsonProperty("multiplier")
  private Integer multiplier;

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
}
