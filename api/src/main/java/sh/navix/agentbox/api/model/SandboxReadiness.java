package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/** Readiness of each runtime endpoint of a sandbox, and of the whole. */
public record SandboxReadiness(String sandboxId, boolean ready, Map<String, EndpointReadiness> endpoints) {

  /** Readiness of one runtime endpoint; {@code message} says why not. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record EndpointReadiness(boolean ready, String message) {}
}
