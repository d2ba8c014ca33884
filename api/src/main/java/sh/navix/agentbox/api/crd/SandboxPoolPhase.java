package sh.navix.agentbox.api.crd;

/** High-level phase of a SandboxPool, by the priority rules documented on SandboxPoolStatus. */
public enum SandboxPoolPhase {
  /** spec.replicas is 0 and no pods exist. */
  Pending,
  /** All replicas present and healthy. */
  Ready,
  /** Fewer pods than spec.replicas. */
  ScalingUp,
  /** More pods than spec.replicas (may persist while busy pods cannot be deleted). */
  ScalingDown,
  /** Replica count stable but unavailable idle pods or failed pods exist. */
  Degraded,
  /** The pool is being deleted. */
  Terminating
}
