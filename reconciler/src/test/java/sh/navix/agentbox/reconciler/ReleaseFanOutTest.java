package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.Sandbox;

/**
 * A sandbox held by two pods (two replicas claimed for one key at once) and released before the
 * leader resolved it: the release ends it on both pods, and answers with the pod it lived on (the
 * one claimed first). Here no replica leads (the Lease is held elsewhere), as in the moment
 * before the leader's duplicate check.
 */
class ReleaseFanOutTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;

  @BeforeAll
  static void startGateway() throws Exception {
    template("fan", "example/idle:1", "example/sandbox:1");
    gateway = leading(new Process("gw-fan", home.resolve("gw")));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
  }

  @Test
  void aReleaseEndsTheSandboxOnEveryPodHoldingIt() throws Exception {
    pool("fan", "fan", 2, null);
    List<Pod> idle = awaitIdleReady("fan", 2);
    standingBy(gateway);

    Pod first = claimAt(Pods.name(idle.get(1)), Instant.now().minusSeconds(5));
    Pod second = claimAt(Pods.name(idle.get(0)), Instant.now());
    await("both claims in the cache", Duration.ofSeconds(10),
        () -> gateway.cache.podsBySandboxId("sbxfan1").size() == 2 ? true : null);

    Sandbox answer = (Sandbox) gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxfan1")).await(10, TimeUnit.SECONDS).body();
    assertThat(answer.podName()).as("the pod the sandbox lived on").isEqualTo(Pods.name(first));
    for (Pod p : List.of(first, second)) {
      Pod now = awaitPod(Pods.name(p), "released", x -> Pods.inPhase(x, SandboxPhase.STOPPING));
      // Released before it ran (nobody leads to mark it running): Canceled, as the reference has it.
      assertThat(Pods.annotation(now, Annotations.STOP_REASON)).isEqualTo("Canceled");
    }
  }

  /** A claim as a replica makes it, again on a 409 (the simulated kubelet may be writing the pod's status). */
  static Pod claimAt(String name, Instant at) {
    return await("pod " + name + " claimed", Duration.ofSeconds(10), () -> {
      try {
        return admin.pods().inNamespace("default").resource(PodTransitions.claim(pod(name), new PodTransitions.ClaimSpec("sbxfan1",
            Map.of("sandbox", "example/sandbox:2"), null, null, null, Duration.ofMinutes(2), null, null, null, null, at))).update();
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() == 409) {
          return null;
        }
        throw e;
      }
    });
  }
}
