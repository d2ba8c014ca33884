package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import sh.navix.agentbox.api.crd.SandboxStatusDetail;

/**
 * A claimed sandbox as users see it: live from its pod, or a terminal record from the history
 * store. {@code durationSeconds}, {@code endpoints} and {@code statusDetail} are computed at query
 * time and never persisted.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Sandbox(
    String sandboxId,
    String namespace,
    String team,
    String user,
    String poolName,
    String podName,
    Map<String, String> metadata,
    String status,
    Map<String, String> containerImages,
    String nodeName,
    String containerId,
    String cpu,
    String memory,
    String claimedAt,
    String startedAt,
    String terminatedAt,
    String recycledAt,
    Long durationSeconds,
    Map<String, SandboxEndpoint> endpoints,
    SandboxStatusDetail statusDetail,
    String failureReason,
    Integer exitCode,
    String failureMessage) {

  /** The copy that goes into the history store: runtime-only fields dropped. */
  public Sandbox persisted() {
    return new Sandbox(
        sandboxId, namespace, team, user, poolName, podName, metadata, status, containerImages,
        nodeName, containerId, cpu, memory, claimedAt, startedAt, terminatedAt, recycledAt,
        null, null, null, failureReason, exitCode, failureMessage);
  }
}
