package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonInclude;

/** A compact pool descriptor offered when a request names a pool that does not exist. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AvailablePoolSummary(String name, String namespace, int idle, int running, int starting) {}
