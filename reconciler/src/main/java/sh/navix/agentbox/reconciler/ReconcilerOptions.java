package sh.navix.agentbox.reconciler;

import java.time.Duration;

/** Tunables of the reconcilers and the leader election; defaults suit production. */
public final class ReconcilerOptions {
  /** Full pass over every pod and pool, catching anything an event missed. */
  public Duration resync = Duration.ofSeconds(30);
  /** Timeout scans and scale-down window checks. */
  public Duration tick = Duration.ofSeconds(1);
  /** How long an idle pod chosen for scale-down stays claimable before it is deleted. */
  public Duration scaleDownProtection = Duration.ofSeconds(10);
  /**
   * Pod events reach a pool's reconcile after this delay, so a burst (claims, kubelet status
   * updates) costs one pass over the pool's pods instead of one per event.
   */
  public Duration poolDebounce = Duration.ofMillis(200);
  /** A pool's status is written at most this often (the last change is always written). */
  public Duration statusInterval = Duration.ofSeconds(1);
  /**
   * A released pod is back to idle once its idle image is up again, usually within seconds (the
   * image is on the node). One still stopping this long after its sandbox ended is removed and
   * replaced.
   */
  public Duration stoppingTimeout = Duration.ofMinutes(5);
  /**
   * A pod the API server said it created but which the informer has not seen this long after (it
   * was deleted during a watch gap, before anyone saw it) stops counting towards its pool, which
   * then replaces it.
   */
  public Duration createdUnseenLimit = Duration.ofMinutes(1);
  /** Most pods one pool creates in one pass. */
  public int createBurst = 100;
  /**
   * A pool whose pod creates the API server refuses (quota, admission webhook) waits this long
   * before it tries again, doubled with each refusal in a row up to {@code createBackoffMax}.
   */
  public Duration createBackoff = Duration.ofSeconds(1);
  public Duration createBackoffMax = Duration.ofMinutes(5);

  /**
   * Most reconciler writes in flight at once (status changes, recycles, deletes, creates, pool
   * status); more wait their turn in the gateway. A burst of reconciles then cannot queue hundreds
   * of writes at the API server ahead of the claims users wait on. Writes a user's request waits
   * on (a DELETE's release) and claims are not counted.
   */
  public int maxWritesInFlight = 32;

  /** Longest a post-start hook (an httpPost answer, an exec command) may take before it counts as failed. */
  public Duration hookTimeout = Duration.ofSeconds(30);

  /** Lease that elects the one process running the reconcilers. */
  public String leaseName = "agentbox-gateway-leader";
  public String leaseNamespace = "default";
  /** This process's identity in the Lease; unique per process. */
  public String identity;
  public Duration leaseDuration = Duration.ofSeconds(15);
  public Duration renewDeadline = Duration.ofSeconds(10);
  public Duration retryPeriod = Duration.ofSeconds(2);
}
