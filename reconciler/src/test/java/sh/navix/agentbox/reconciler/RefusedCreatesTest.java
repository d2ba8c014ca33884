package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.vertx.core.http.HttpServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.PoolConditions;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolPhase;

/**
 * The API server refuses a pool's pod creates (a ResourceQuota, an admission webhook): the pool
 * says why in its Scaling condition, the reconciler backs off instead of resending a burst of
 * creates every tick, and the pool fills as soon as creates pass again.
 */
class RefusedCreatesTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;
  static HttpServer quota;
  static volatile boolean refusing;
  /** When each refused create reached the "API server". */
  static final List<Long> refusals = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startGateway() throws Exception {
    template("quota", "example/idle:1", "example/sandbox:1");
    // Answers pod creates as an API server over its ResourceQuota does.
    quota = fakeApiServer(req -> {
      refusals.add(System.nanoTime());
      req.response().setStatusCode(403).putHeader("content-type", "application/json")
          .end("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403,"
              + "\"message\":\"pods is forbidden: exceeded quota: sandboxes, requested: pods=1, used: pods=0, limited: pods=0\"}");
    });
    gateway = leadingWithPodCreatesTo("gw-quota", home.resolve("gw"), quota, () -> refusing, o -> o.createBackoff = Duration.ofMillis(200));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
    quota.close().await(10, TimeUnit.SECONDS);
  }

  static Condition scaling(SandboxPool p) {
    return p == null || p.getStatus() == null || p.getStatus().getConditions() == null ? null
        : p.getStatus().getConditions().stream().filter(c -> PoolConditions.SCALING.equals(c.getType())).findFirst().orElse(null);
  }

  @Test
  void refusedCreatesBackOffAndThePoolSaysWhy() {
    refusing = true;
    pool("capped", "quota", 3, null);
    SandboxPool told = await("the refusal in the pool's status", Duration.ofSeconds(30), () -> {
      SandboxPool p = getPool("capped");
      Condition c = scaling(p);
      return c != null && c.getMessage().contains("exceeded quota") ? p : null;
    });
    assertThat(told.getStatus().getPhase()).isEqualTo(SandboxPoolPhase.ScalingUp);
    assertThat(scaling(told).getReason()).isEqualTo(PoolConditions.REASON_SCALING_UP);

    List<Long> at = await("four tries after the first burst", Duration.ofSeconds(30),
        () -> refusals.size() >= 7 ? List.copyOf(refusals) : null);
    // The first pass sent its burst (3 pods); every later try is one pod, each waiting twice as long.
    for (int i = 3; i < 7; i++) {
      long gapMs = TimeUnit.NANOSECONDS.toMillis(at.get(i) - at.get(i - 1));
      long backoffMs = 200L << (i - 3);
      assertThat(gapMs).as("wait before refused create %d", i + 1).isGreaterThanOrEqualTo(backoffMs);
    }

    refusing = false;
    awaitIdleReady("capped", 3);
    SandboxPool ready = awaitPoolPhase("capped", SandboxPoolPhase.Ready);
    assertThat(scaling(ready).getMessage()).doesNotContain("refused");
  }

  static SandboxPool awaitPoolPhase(String name, SandboxPoolPhase phase) {
    return PoolReconcilerTest.awaitPoolPhase(name, phase);
  }
}
