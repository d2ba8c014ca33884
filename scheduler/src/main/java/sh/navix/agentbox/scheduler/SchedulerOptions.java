package sh.navix.agentbox.scheduler;

import java.time.Duration;

/** Tunables of the claim scheduler. */
public final class SchedulerOptions {
  /** Most concurrent claim writes per pool (each on a different pod, handed out in queue order). */
  public int maxInFlightPerPool = 64;
  /** status.pendingRequests is written at most this often... */
  public Duration pendingMirrorInterval = Duration.ofSeconds(3);
  /** ...and only when the queue length moved by at least this fraction, or crossed zero. */
  public double pendingMirrorChange = 0.2;
  /** The last-sandbox-create-time pool annotation is written at most this often. */
  public Duration lastCreateFlushInterval = Duration.ofSeconds(5);
  /** How long the scheduler keeps checking a claim whose write outcome is unknown (API error). */
  public Duration ambiguousClaimWatch = Duration.ofSeconds(60);
}
