package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** Labels and annotations the Env reconciler stamps onto a member pool. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MemberMetadata {
  @JsonProperty("labels")
  private Map<String, String> labels;

  @JsonProperty("annotations")
  private Map<String, String> annotations;

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
}
