package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** The Env-level autoscaler: one entry per scaling group. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvAutoscalingSpec {
  /** Autoscaling groups keyed by name. */
  @JsonProperty("groups")
  private List<EnvAutoscalingGroup> groups;

  public List<EnvAutoscalingGroup> getGroups() {
    return groups;
  }

  public void setGroups(List<EnvAutoscalingGroup> groups) {
    this.groups = groups;
  }
}
