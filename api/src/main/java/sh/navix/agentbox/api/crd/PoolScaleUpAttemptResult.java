package sh.navix.agentbox.api.crd;

/** Outcome of the most recent scale-up admission probe. */
public enum PoolScaleUpAttemptResult {
  /** The probe accepted the full target. */
  Enough,
  /** Partial admission (reserved). */
  JustRight,
  /** The cluster cannot fit more pods; the pool is saturated for a cooldown. */
  Insufficient,
  /** Invalid spec or internal error; also starts the saturation cooldown. */
  Failed
}
