package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.bus.BusConsumer;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;

/**
 * Keeps this replica's history store complete while another replica leads. The leader writes a
 * sandbox's record into its own store before it clears the pod; every other replica writes the
 * same record into its own when its cache sees the pod stop holding the sandbox ({@link
 * Bus#SANDBOX_ENDED}), from the pod as it last held it, which carries what the leader recorded
 * from (stop reason, times, failure). So a GET or a list on any replica finds a sandbox that ended
 * while that replica ran, and a create waiting for Running there learns why it did not start. Only
 * ends the leader wrote up are recorded: the pod carries a stop reason, or failed. A replica that
 * was down when a sandbox ended has no record of it.
 */
final class HistoryFollower extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(HistoryFollower.class);

  private final Lifecycle lifecycle;
  private final BooleanSupplier leading;
  private BusConsumer<Bus.SandboxEnded> ends;

  HistoryFollower(Lifecycle lifecycle, BooleanSupplier leading) {
    this.lifecycle = lifecycle;
    this.leading = leading;
  }

  @Override
  public Future<?> start() {
    ends = BusConsumer.on(vertx, Bus.SANDBOX_ENDED, m -> ended(m.body().lastHeld()), m -> {});
    return ends.completion();
  }

  @Override
  public Future<?> stop() {
    return ends.unregister();
  }

  private void ended(Pod lastHeld) {
    if (leading.getAsBoolean()) {
      return; // the leader recorded it before clearing the pod
    }
    if (Pods.annotation(lastHeld, Annotations.STOP_REASON) == null && !Pods.inPhase(lastHeld, SandboxPhase.FAILED)) {
      // Not an end the leader wrote up: a cache that missed the last changes (a new list after an
      // outage) shows the pod as it was before. Better no record here than a wrong one.
      LOG.debug("sandbox {} left pod {} without a stop reason: not recorded here", Pods.sandboxId(lastHeld), Pods.name(lastHeld));
      return;
    }
    lifecycle.record(lastHeld).onFailure(e -> LOG.warn("history: sandbox {} could not be recorded on this replica: {}",
        Pods.sandboxId(lastHeld), e.toString()));
  }
}
