package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Aggregates of one scaling group across members. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvScalingGroupStatus {
  @io.fabric8.generator.annotation.Required
  @JsonProperty("name")
  private String name;

  @JsonProperty("totalIdle")
  private Integer totalIdle;

  @JsonProperty("totalRunning")
  private Integer totalRunning;

  @JsonProperty("totalDesired")
  private Integer totalDesired;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Integer getTotalIdle() {
    return totalIdle;
  }

  public void setTotalIdle(Integer totalIdle) {
    this.totalIdle = totalIdle;
  }

  public Integer getTotalRunning() {
    return totalRunning;
  }

  public void setTotalRunning(Integer totalRunning) {
    this.totalRunning = totalRunning;
  }

  public Integer getTotalDesired() {
    return totalDesired;
  }

  public void setTotalDesired(Integer totalDesired) {
    this.totalDesired = totalDesired;
  }
}
