package sh.navix.agentbox.api.crd;

/** How aggressively a pool grows per scale-up decision. */
public enum PoolScaleUpMode {
  /** +1 pod per decision. */
  Conservative,
  /** +max(1, ceil(current/2)) pods per decision. */
  Default,
  /** Double, up to maxReplicas. */
  Aggressive
}
