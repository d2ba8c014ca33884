package sh.navix.agentbox.api.crd;

/** How a SandboxEnv satisfies sandbox-create requests. */
public enum SandboxEnvMode {
  /** Dispatch to one of the Env's member pools. */
  WarmPool,
  /** One SandboxJob per request (reserved, not implemented). */
  OnDemandJob
}
