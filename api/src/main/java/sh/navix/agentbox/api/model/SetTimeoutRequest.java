package sh.navix.agentbox.api.model;

import tools.jackson.databind.JsonNode;

/**
 * The JSON body of {@code PUT /v1/sandboxes/{id}/timeout}: the new idle timeout, a number of
 * seconds or a Go duration string ("45m"); zero removes it.
 */
public record SetTimeoutRequest(JsonNode timeout) {}
