package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonInclude;

/** Attached to a 409 when a pool had no idle pod in time: the pool's counts and when to retry. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PoolStatusDetail(
    int idle, int running, int starting, int stopping, int failed, String hint, Integer retryAfter) {}
