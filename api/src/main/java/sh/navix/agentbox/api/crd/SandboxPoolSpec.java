package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Desired state of a SandboxPool: replica count, defaults for create requests, and the embedded template copied at creation. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxPoolSpec extends EmbeddedSandboxTemplate {
  /** Total desired pods (idle + starting + running + stopping). */
  @io.fabric8.generator.annotation.Required
  @io.fabric8.generator.annotation.Min(0)
  @io.fabric8.kubernetes.model.annotation.SpecReplicas
  @JsonProperty("replicas")
  private int replicas;

  /** Cluster-scoped SandboxTemplate copied at pool creation. */
  @JsonProperty("templateName")
  private String templateName;

  /** Go duration; default startup timeout for creates, and the upper bound of the Starting phase. */
  @JsonProperty("defaultStartupTimeout")
  private String defaultStartupTimeout;

  /** Go duration; default idle timeout for sandboxes of this pool (none when absent). */
  @JsonProperty("defaultIdleTimeout")
  private String defaultIdleTimeout;

  /** Which image new pods start with. */
  @io.fabric8.generator.annotation.Default("IdleImage")
  @JsonProperty("podCreationImagePolicy")
  private PodCreationImagePolicy podCreationImagePolicy;

  public int getReplicas() {
    return replicas;
  }

  public void setReplicas(int replicas) {
    this.replicas = replicas;
  }

  public String getTemplateName() {
    return templateName;
  }

  public void setTemplateName(String templateName) {
    this.templateName = templateName;
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

  public PodCreationImagePolicy getPodCreationImagePolicy() {
    return podCreationImagePolicy;
  }

  public void setPodCreationImagePolicy(PodCreationImagePolicy podCreationImagePolicy) {
    this.podCreationImagePolicy = podCreationImagePolicy;
  }
}
