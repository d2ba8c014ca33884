package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import sh.navix.agentbox.api.cache.PoolPodCounts;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.PoolConditions;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolPhase;
import sh.navix.agentbox.api.crd.SandboxPoolStatus;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;

/** A pool's status from its pod counts: a pure function, so it can be compared before it is written. */
public final class PoolStatuses {
  private PoolStatuses() {}

  /**
   * The status {@code pool} should have given its pod counts (pods being deleted do not count);
   * conditions keep their transition time while unchanged, and {@code createRefusal} (the API
   * server's reason, or null) is told in the Scaling condition.
   */
  public static SandboxPoolStatus compute(SandboxPool pool, PoolPodCounts counts, Instant now, String createRefusal) {
    String name = pool.getMetadata().getName();
    int idle = counts.idle(), unavailableIdle = counts.unavailableIdle(), starting = counts.starting();
    int running = counts.running(), stopping = counts.stopping(), failed = counts.failed();
    int current = counts.present();
    int replicas = pool.getSpec() == null ? 0 : pool.getSpec().getReplicas();
    SandboxPoolStatus old = pool.getStatus();

    SandboxPoolStatus s = new SandboxPoolStatus();
    s.setIdleReplicas(idle);
    s.setUnavailableIdleReplicas(unavailableIdle);
    s.setStartingReplicas(starting);
    s.setRunningReplicas(running);
    s.setStoppingReplicas(stopping);
    s.setFailedReplicas(failed);
    s.setPendingRequests(old == null ? null : old.getPendingRequests()); // the scheduler's to write
    s.setAutoscaling(old == null ? null : old.getAutoscaling());
    s.setObservedGeneration(pool.getMetadata().getGeneration());

    String selector = Labels.SANDBOX_POOL + "=" + name;
    s.setSelector(selector);
    s.setLabelSelector(new LabelSelectorBuilder().withMatchLabels(Map.of(Labels.SANDBOX_POOL, name)).build());
    Map<String, String> phases = new LinkedHashMap<>();
    phases.put("all", selector);
    for (SandboxPhase ph : SandboxPhase.values()) {
      phases.put(ph.wire(), selector + "," + Labels.SANDBOX_PHASE + "=" + ph.wire());
    }
    s.setPhaseSelectors(phases);

    boolean degraded = unavailableIdle > 0 || failed > 0;
    SandboxPoolPhase phase;
    if (Pods.deleting(pool)) {
      phase = SandboxPoolPhase.Terminating;
    } else if (replicas == 0 && current + failed == 0) {
      phase = SandboxPoolPhase.Pending;
    } else if (current < replicas) {
      phase = SandboxPoolPhase.ScalingUp;
    } else if (current > replicas) {
      phase = SandboxPoolPhase.ScalingDown;
    } else if (degraded) {
      phase = SandboxPoolPhase.Degraded;
    } else {
      phase = SandboxPoolPhase.Ready;
    }
    s.setPhase(phase);

    List<Condition> previous = old == null || old.getConditions() == null ? List.of() : old.getConditions();
    long generation = pool.getMetadata().getGeneration() == null ? 0 : pool.getMetadata().getGeneration();
    List<Condition> conditions = new ArrayList<>();
    int readyIdle = idle - unavailableIdle;
    conditions.add(condition(previous, PoolConditions.AVAILABLE, readyIdle > 0,
        readyIdle > 0 ? PoolConditions.REASON_IDLE_PODS_AVAILABLE : PoolConditions.REASON_NO_IDLE_PODS_AVAILABLE,
        readyIdle + " of " + idle + " idle pods ready", generation, now));
    boolean scaling = current != replicas;
    conditions.add(condition(previous, PoolConditions.SCALING, scaling,
        current < replicas ? PoolConditions.REASON_SCALING_UP : current > replicas ? PoolConditions.REASON_SCALING_DOWN : PoolConditions.REASON_REPLICAS_READY,
        current + " of " + replicas + " replicas present"
            + (createRefusal != null && current < replicas ? "; pod creation refused: " + createRefusal : ""), generation, now));
    String degradedReason = unavailableIdle > 0 && failed > 0 ? PoolConditions.REASON_UNHEALTHY_AND_FAILED
        : unavailableIdle > 0 ? PoolConditions.REASON_UNHEALTHY_IDLE_PODS
        : failed > 0 ? PoolConditions.REASON_FAILED_PODS_PRESENT : PoolConditions.REASON_ALL_PODS_HEALTHY;
    conditions.add(condition(previous, PoolConditions.DEGRADED, degraded, degradedReason,
        unavailableIdle + " idle pods not ready, " + failed + " failed pods", generation, now));
    s.setConditions(conditions);
    return s;
  }

  private static Condition condition(List<Condition> previous, String type, boolean status, String reason, String message,
      long generation, Instant now) {
    String value = status ? "True" : "False";
    String since = previous.stream()
        .filter(c -> type.equals(c.getType()) && value.equals(c.getStatus()))
        .map(Condition::getLastTransitionTime).filter(Objects::nonNull).findFirst()
        .orElse(PodTransitions.rfc3339(now));
    return new ConditionBuilder().withType(type).withStatus(value).withReason(reason).withMessage(message)
        .withObservedGeneration(generation).withLastTransitionTime(since).build();
  }
}
