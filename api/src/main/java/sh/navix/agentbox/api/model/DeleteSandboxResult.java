package sh.navix.agentbox.api.model;

/** What a release answers: which sandbox, where it ran, and its status after the call. */
public record DeleteSandboxResult(
    String sandboxId, String namespace, String poolName, String podName, String status) {}
