package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Desired state of a SandboxTemplate: the embedded template plus version, description and visibility. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxTemplateSpec extends EmbeddedSandboxTemplate {
  /** Optional semantic version, e.g. "v1.2.0". */
  @JsonProperty("version")
  private String version;

  /** Human-readable description. */
  @JsonProperty("description")
  private String description;

  /** Which tenants can see the template. */
  @JsonProperty("visibility")
  private TemplateVisibility visibility;

  public String getVersion() {
    return version;
  }

  public void setVersion(String version) {
    this.version = version;
  }

  public String getDescription() {
    return description;
  }

  public void setDescription(String description) {
    this.description = description;
  }

  public TemplateVisibility getVisibility() {
    return visibility;
  }

  public void setVisibility(TemplateVisibility visibility) {
    this.visibility = visibility;
  }
}
