package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.history.HistoryStore;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.reconciler.history.H2HistoryStore;

/**
 * What a replica that does not lead records when its cache sees a pod stop holding a sandbox: the
 * ends the leader wrote up on the pod (a stop reason, or the pod failed), as the leader recorded
 * them; not a pod the cache shows as it was before its end, nor a duplicate claim recycled while
 * the sandbox lives on.
 */
class HistoryFollowerTest {
  @TempDir Path home;

  @Test
  void recordsTheEndsTheLeaderWroteUpAndOnlyThose() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Bus.registerCodecs(vertx.eventBus());
      HistoryStore history = H2HistoryStore.open(vertx, home.resolve("history/sandboxes"), Duration.ZERO).await(10, TimeUnit.SECONDS);
      Lifecycle lifecycle = new Lifecycle(null, null, history, Clock.systemUTC(), new SimpleMeterRegistry());
      vertx.deployVerticle(new HistoryFollower(lifecycle, () -> false)).await(10, TimeUnit.SECONDS);

      ended(vertx, pod("sbxstale", SandboxPhase.RUNNING, Map.of())); // the cache missed the end: no stop reason
      ended(vertx, pod("sbxdup", SandboxPhase.STOPPING, Map.of(Annotations.STOP_REASON, "Canceled", Annotations.FAILURE_REASON, "DuplicateClaim")));
      ended(vertx, pod("sbxfailed", SandboxPhase.FAILED, Map.of()));
      ended(vertx, pod("sbxreleased", SandboxPhase.STOPPING, Map.of(Annotations.STOP_REASON, "Released")));

      // The follower takes the ends in order: once the last is on record, the others were looked at.
      Sandbox released = Await.until("the released sandbox on record", Duration.ofSeconds(10), () -> get(history, "sbxreleased").orElse(null));
      assertThat(released.status()).isEqualTo("Completed");
      assertThat(released.terminatedAt()).as("as the leader wrote it on the pod").isEqualTo("2026-12-06T10:00:05Z");
      assertThat(get(history, "sbxfailed")).map(Sandbox::status).contains("Failed");
      assertThat(get(history, "sbxstale")).as("an end the leader had not written up").isEmpty();
      assertThat(get(history, "sbxdup")).as("a duplicate claim: the sandbox lives on").isEmpty();
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static void ended(Vertx vertx, Pod lastHeld) {
    vertx.eventBus().publish(Bus.SANDBOX_ENDED, new Bus.SandboxEnded(lastHeld));
  }

  private static Optional<Sandbox> get(HistoryStore history, String id) {
    try {
      return history.get(id).await(5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the history store did not answer", e);
    }
  }

  /** A pod of pool p holding sandbox {@code id} in {@code phase}, claimed, started and ended at fixed times, with {@code more} annotations. */
  private static Pod pod(String id, SandboxPhase phase, Map<String, String> more) {
    Map<String, String> annotations = new HashMap<>(Map.of(Annotations.CLAIMED_AT, "2026-12-06T10:00:00Z",
        Annotations.STARTED_AT, "2026-12-06T10:00:01Z", Annotations.TERMINATED_AT, "2026-12-06T10:00:05Z"));
    annotations.putAll(more);
    return new PodBuilder().withNewMetadata().withName("p-" + id).withNamespace("default")
        .withLabels(Map.of(Labels.SANDBOX_ID, id, Labels.SANDBOX_POOL, "p", Labels.SANDBOX_PHASE, phase.wire()))
        .withAnnotations(annotations).endMetadata()
        .withNewSpec().addNewContainer().withName("sandbox").withImage("example/sandbox:2").endContainer().endSpec().build();
  }
}
