package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.history.HistoryQuery;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.SandboxStatus;

/** Two gateway processes on one cluster: one leader, failover; and a leader killed mid-transition. */
class LeaderAndRestartTest extends ReconcilerTestBase {
  @TempDir Path home;

  static String leaseHolder() {
    Lease lease = admin.leases().inNamespace("default").withName("agentbox-gateway-leader").get();
    return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
  }

  @Test
  void oneLeaderAtATimeAndTheStandbyTakesOver() throws Exception {
    template("ha", "example/idle:1", "example/sandbox:1");
    try (Process a = new Process("gw-a", home.resolve("a")); Process b = new Process("gw-b", home.resolve("b"))) {
      Process leader = await("a leader", Duration.ofSeconds(10), () -> a.reconcilers.isLeader() ? a : b.reconcilers.isLeader() ? b : null);
      Process standby = leader == a ? b : a;
      assertThat(standby.reconcilers.isLeader()).isFalse();
      assertThat(leaseHolder()).isEqualTo(leader.reconcilers.identity());

      pool("ha", "ha", 2, null);
      awaitIdleReady("ha", 2);

      // Graceful shutdown hands the Lease back: the standby leads well inside the lease duration.
      Instant stopped = Instant.now();
      leader.close();
      await("standby leads", Duration.ofSeconds(10), () -> standby.reconcilers.isLeader() ? true : null);
      assertThat(Duration.between(stopped, Instant.now())).isLessThan(Duration.ofSeconds(3));
      assertThat(leaseHolder()).isEqualTo(standby.reconcilers.identity());

      // The new leader reconciles: scaling up creates pods.
      scale("ha", 3);
      awaitIdleReady("ha", 3);
    }
  }

  @Test
  void aKilledLeaderIsReplacedWithinTheLeaseDuration() throws Exception {
    Process a = new Process("gw-c", home.resolve("c"));
    await("c leads", Duration.ofSeconds(10), () -> a.reconcilers.isLeader() ? true : null);
    try (Process b = new Process("gw-d", home.resolve("d"))) {
      assertThat(b.reconcilers.isLeader()).isFalse();
      Instant killed = Instant.now();
      a.kill(); // no Lease release: the standby must wait for it to expire
      await("d leads", Duration.ofSeconds(15), () -> b.reconcilers.isLeader() ? true : null);
      Duration took = Duration.between(killed, Instant.now());
      assertThat(took).isLessThan(Duration.ofSeconds(3 + 3)); // lease duration + renew/retry slack
      assertThat(leaseHolder()).isEqualTo("gw-d");
    }
  }

  /**
   * A leader that loses its Lease (another holder took it, as after an API outage longer than the
   * renew deadline) stops its reconcilers but stays in the election, and leads again once that
   * holder lets the Lease expire: a single replica must never end up with no leader at all.
   */
  @Test
  void aLeaderThatLosesItsLeaseStandsByAndLeadsAgainWhenTheLeaseIsFree() throws Exception {
    try (Process a = new Process("gw-e", home.resolve("e"))) {
      await("e leads", Duration.ofSeconds(10), () -> a.reconcilers.isLeader() ? true : null);
      sh.navix.agentbox.devcluster.Leases.takeOver(admin, "default", "agentbox-gateway-leader", "somebody-else", Duration.ofSeconds(4));
      await("e stops leading", Duration.ofSeconds(10), () -> !a.reconcilers.isLeader() ? true : null);
      await("e leads again once the other holder's Lease expired", Duration.ofSeconds(15),
          () -> a.reconcilers.isLeader() && "gw-e".equals(leaseHolder()) ? true : null);
    }
  }

  @Test
  void restartMidTransitionRebuildsStateWithoutLosingOrDoublingRecords() throws Exception {
    template("restart", "example/idle:1", "example/sandbox:1");
    Path gwHome = home.resolve("gw");
    Process first = new Process("gw-r1", gwHome);
    await("leadership", Duration.ofSeconds(10), () -> first.reconcilers.isLeader() ? true : null);
    pool("restart", "restart", 3, null);
    List<Pod> pods = awaitIdleReady("restart", 3);
    Pod a = pods.get(0);
    Pod b = pods.get(1);
    claim(a, "sbxrestarta", "example/sandbox:2", null, null);
    awaitPod(a.getMetadata().getName(), "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));

    // Mid-transition: one sandbox just claimed (starting), one just released (stopping), then the
    // leader dies before it can act on either.
    claim(b, "sbxrestartb", "example/sandbox:3", null, null);
    Pod running = pod(a.getMetadata().getName());
    admin.pods().inNamespace("default").resource(
        PodTransitions.release(running, SandboxStopReason.Released, null, null, "example/idle:1", java.util.Map.of(), Instant.now())).update();
    first.kill();

    try (Process second = new Process("gw-r2", gwHome)) {
      await("new leader", Duration.ofSeconds(15), () -> second.reconcilers.isLeader() ? true : null);
      awaitPod(b.getMetadata().getName(), "b running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
      Pod recycled = awaitPod(a.getMetadata().getName(), "a idle again", p -> Pods.inPhase(p, SandboxPhase.IDLE) && Pods.ready(p));
      assertThat(Pods.sandboxId(recycled)).isNull();
      awaitPods("restart", "3 pods, one running", ps -> ps.size() == 3
          && ps.stream().filter(p -> Pods.inPhase(p, SandboxPhase.RUNNING)).count() == 1);

      var page = second.history.query(new HistoryQuery(null, "restart", Set.of(), null, null, 10, 0)).await(5, TimeUnit.SECONDS);
      assertThat(page.total()).isEqualTo(1);
      assertThat(page.items()).singleElement().satisfies(s -> {
        assertThat(s.sandboxId()).isEqualTo("sbxrestarta");
        assertThat(s.status()).isEqualTo(SandboxStatus.COMPLETED);
      });
      // Written once, also if the new leader sees the same transition again on a resync.
      assertThat(second.history.record(page.items().get(0)).await(5, TimeUnit.SECONDS)).isFalse();
    }
  }
}
