package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Observed state of a SandboxTemplate. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxTemplateStatus {
  /** Available / Progressing / Degraded conditions. */
  @JsonProperty("conditions")
  private List<io.fabric8.kubernetes.api.model.Condition> conditions;

  public List<io.fabric8.kubernetes.api.model.Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    this.conditions = conditions;
  }
}
