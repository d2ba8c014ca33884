package sh.navix.agentbox.api.crd;

/** Why a sandbox stopped; the value of {@link Annotations#STOP_REASON}. */
public enum SandboxStopReason {
  /** Normal completion of the sandbox workload. */
  Completed,
  /** Premature stop before ever reaching Running (e.g. deleted while Starting). */
  Canceled,
  /** Explicit release by API call or idle timeout. */
  Released,
  /** Stopped due to pod failure (OOMKilled, Evicted, ...). */
  Failed
}
