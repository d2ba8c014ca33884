package sh.navix.agentbox.api.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything needed to claim a sandbox, after validation and defaulting. A zero or null timeout
 * means none.
 */
public record CreateSandboxInput(
    String poolName,
    String namespace,
    String image,
    Map<String, String> containerImages,
    Map<String, String> labels,
    Map<String, String> annotations,
    Map<String, String> metadata,
    Duration startupTimeout,
    Duration idleTimeout,
    List<PostStartHookAction> postStartHooks,
    String team,
    String user) {}
