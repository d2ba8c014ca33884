package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Which tenants see a template: rules combine with OR; no rules means public. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TemplateVisibility {
  /** Visibility rules. */
  @JsonProperty("rules")
  private List<TemplateVisibilityRule> rules;

  public List<TemplateVisibilityRule> getRules() {
    return rules;
  }

  public void setRules(List<TemplateVisibilityRule> rules) {
    this.rules = rules;
  }
}
