package sh.navix.agentbox.api.cache;

import io.fabric8.kubernetes.api.model.Pod;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;

/**
 * How many pods of one pool are in each phase. Pods being deleted are counted apart and in no
 * phase; {@code unavailableIdle} are idle pods whose Ready condition is not True (also counted in
 * {@code idle}); {@code scaleDownProtected} are pods present (idle, starting, running or stopping)
 * that carry the scale-down mark.
 */
public record PoolPodCounts(int idle, int unavailableIdle, int starting, int running, int stopping, int failed,
    int deleting, int scaleDownProtected) {

  public static final PoolPodCounts NONE = new PoolPodCounts(0, 0, 0, 0, 0, 0, 0, 0);

  /** Pods that count towards the pool's replicas: idle, starting, running or stopping, and not being deleted. */
  public int present() {
    return idle + starting + running + stopping;
  }

  /** The counts of {@code pods}, as the cache keeps them from pod events. */
  public static PoolPodCounts of(Iterable<Pod> pods) {
    int[] n = new int[SLOTS];
    for (Pod p : pods) {
      add(n, slots(p), 1);
    }
    return of(n);
  }

  /** Counts from slot totals (see {@link #slots}). */
  public static PoolPodCounts of(int[] n) {
    return new PoolPodCounts(n[IDLE], n[UNAVAILABLE_IDLE], n[STARTING], n[RUNNING], n[STOPPING], n[FAILED], n[DELETING], n[PROTECTED]);
  }

  /** Adds {@code by} to each of {@code n}'s slots set in {@code slots}. */
  public static void add(int[] n, int slots, int by) {
    for (int s = 0; s < SLOTS; s++) {
      if ((slots & (1 << s)) != 0) {
        n[s] += by;
      }
    }
  }

  /** Slot indexes: the counts one pod can add to. */
  public static final int IDLE = 0, UNAVAILABLE_IDLE = 1, STARTING = 2, RUNNING = 3, STOPPING = 4, FAILED = 5, DELETING = 6,
      PROTECTED = 7, SLOTS = 8;

  /** The slots {@code p} adds one to, as bits (1 << slot); 0 for a pod without a phase. */
  public static int slots(Pod p) {
    if (Pods.deleting(p)) {
      return 1 << DELETING;
    }
    SandboxPhase ph = Pods.phase(p).orElse(null);
    if (ph == null) {
      return 0;
    }
    int marked = Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) != null ? 1 << PROTECTED : 0;
    return switch (ph) {
      case IDLE -> 1 << IDLE | (Pods.ready(p) ? 0 : 1 << UNAVAILABLE_IDLE) | marked;
      case STARTING -> 1 << STARTING | marked;
      case RUNNING -> 1 << RUNNING | marked;
      case STOPPING -> 1 << STOPPING | marked;
      case FAILED -> 1 << FAILED;
    };
  }
}
