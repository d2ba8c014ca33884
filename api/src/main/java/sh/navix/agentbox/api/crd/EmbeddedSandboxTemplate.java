package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** The pod template, idle image and runtimes shared by templates and pools (inlined into their specs). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EmbeddedSandboxTemplate {
  /** Pod template; every pod of a pool shares it. Its first container image is the idle image unless idleImage is set. */
  @io.fabric8.crd.generator.annotation.PreserveUnknownFields
  @io.fabric8.crd.generator.annotation.SchemaFrom(type = SchemalessObject.class)
  @JsonProperty("template")
  private io.fabric8.kubernetes.api.model.PodTemplateSpec template;

  /** Image of idle pods; defaults to the template's first container image. */
  @JsonProperty("idleImage")
  private String idleImage;

  /** Runtimes of the sandbox pods, keyed by name. */
  @JsonProperty("runtimes")
  private List<SandboxRuntimeSpec> runtimes;

  public io.fabric8.kubernetes.api.model.PodTemplateSpec getTemplate() {
    return template;
  }

  public void setTemplate(io.fabric8.kubernetes.api.model.PodTemplateSpec template) {
    this.template = template;
  }

  public String getIdleImage() {
    return idleImage;
  }

  public void setIdleImage(String idleImage) {
    this.idleImage = idleImage;
  }

  public List<SandboxRuntimeSpec> getRuntimes() {
    return runtimes;
  }

  public void setRuntimes(List<SandboxRuntimeSpec> runtimes) {
    this.runtimes = runtimes;
  }
}
