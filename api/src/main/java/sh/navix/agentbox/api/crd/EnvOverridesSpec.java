package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Template fields an Env replaces for every member pool. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvOverridesSpec {
  /** Overrides containers[0].image. */
  @JsonProperty("image")
  private String image;

  /** Overrides the template's policy. */
  @JsonProperty("podCreationImagePolicy")
  private PodCreationImagePolicy podCreationImagePolicy;

  /** Go duration. */
  @JsonProperty("defaultStartupTimeout")
  private String defaultStartupTimeout;

  /** Go duration. */
  @JsonProperty("defaultIdleTimeout")
  private String defaultIdleTimeout;

  public String getImage() {
    return image;
  }

  public void setImage(String image) {
    this.image = image;
  }

  public PodCreationImagePolicy getPodCreationImagePolicy() {
    return podCreationImagePolicy;
  }

  public void setPodCreationImagePolicy(PodCreationImagePolicy podCreationImagePolicy) {
    this.podCreationImagePolicy = podCreationImagePolicy;
  }

  public String getDefaultStartupTimeout() {
    return defaultStartupTimeout;
  }

  public void setDefaultStartupTimeout(String defaultStartupTimeout) {
    this.defaultStartupTimeout = defaultStartupTimeout;
  }

  public String getDefaultIdleTimeout() {
    return defaultIdleTimeout;
  }

  public void setDefaultIdleTimeout(String defaultIdleTimeout) {
    this.defaultIdleTimeout = defaultIdleTimeout;
  }
}
