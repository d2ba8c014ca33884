package sh.navix.agentbox.api.model;

import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The JSON body of {@code POST /v1/sandboxes}, as sent. Durations are a number of seconds or a
 * Go duration string ("90s", "5m"), hence JSON nodes; validation turns this into a
 * {@link CreateSandboxInput}.
 */
public record CreateSandboxRequest(
    String poolName,
    String namespace,
    String image,
    Map<String, String> containerImages,
    Map<String, String> labels,
    Map<String, String> annotations,
    Map<String, String> metadata,
    JsonNode startupTimeout,
    JsonNode idleTimeout,
    List<PostStartHookAction> postStartHooks,
    Integer waitTimeoutSeconds,
    Boolean waitForRunning) {}
