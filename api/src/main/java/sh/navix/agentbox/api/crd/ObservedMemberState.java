package sh.navix.agentbox.api.crd;

/** Whether an Env member pool can serve requests. */
public enum ObservedMemberState {
  /** The member pool exists and is eligible. */
  Active,
  /** Hit maxReplicas or ran out of quota. */
  Saturated,
  /** The member pool no longer exists. */
  Missing,
  /** Template or instance type drifted from the Env. */
  Inconsistent
}
