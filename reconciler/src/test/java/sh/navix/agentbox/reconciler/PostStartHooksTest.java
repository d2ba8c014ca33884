package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.PostStartHookAction;
import sh.navix.agentbox.api.model.PostStartHookAction.HttpPostHookAction;
import sh.navix.agentbox.api.model.Sandbox;

/**
 * Post-start hooks run once the sandbox is running, in order; a failing one ends the sandbox as
 * Failed and the rest do not run. The httpPost target is a server of the test's own on the pod's
 * address (a port the dev runtime does not serve), so the test sees what the hook sent.
 */
class PostStartHooksTest extends ReconcilerTestBase {
  static final int HOOK_PORT = 9999;
  static final Duration HOOK_TIMEOUT = Duration.ofSeconds(3);
  @TempDir static Path home;
  static Process gateway;
  static final Vertx serverVertx = Vertx.vertx();
  HttpServer server;
  final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  /** Completes the answer to /slow, held until then. */
  final io.vertx.core.Promise<Void> slowAnswer = io.vertx.core.Promise.promise();

  record Received(String method, String path, String body, String contentType, String token, String podPhase) {}

  @BeforeAll
  static void startGateway() throws Exception {
    template("hooks", "example/idle:1", "example/sandbox:1");
    pool("hooks", "hooks", 8, null); // a pod for each test: some sandboxes are left running
    gateway = leading(new Process("gw-hooks", home.resolve("gw"), http -> {}, o -> o.hookTimeout = HOOK_TIMEOUT));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
    serverVertx.close().await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stopServer() throws Exception {
    if (server != null) {
      server.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** An idle pod with the test's hook server listening on its address; /fail answers 500, /slow when the test says, /hang never. */
  Pod idlePodWithServer() throws Exception {
    Pod idle = awaitPods("hooks", "an idle ready pod", ps -> ps.stream().anyMatch(this::idleReady)).stream()
        .filter(this::idleReady).findFirst().orElseThrow();
    String podName = Pods.name(idle);
    server = serverVertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      // The pod's phase as the API server has it when the hook arrives.
      String phase = Pods.phase(pod(podName)).map(SandboxPhase::wire).orElse(null);
      received.add(new Received(req.method().name(), req.path(), b.toString(), req.getHeader("content-type"), req.getHeader("x-token"),
          phase));
      if (req.path().equals("/fail")) {
        req.response().setStatusCode(500).end("boom");
      } else if (req.path().equals("/hang")) {
        // never answered
      } else if (req.path().equals("/slow")) {
        slowAnswer.future().onComplete(x -> req.response().setStatusCode(204).end());
      } else {
        req.response().setStatusCode(204).end();
      }
    })).listen(HOOK_PORT, idle.getStatus().getPodIP()).await(10, TimeUnit.SECONDS);
    return idle;
  }

  private boolean idleReady(Pod p) {
    return Pods.inPhase(p, SandboxPhase.IDLE) && Pods.ready(p) && !Pods.deleting(p);
  }

  /** Claims an idle pod for {@code sandboxId} with {@code hooks}; the sandbox ends Failed for them, with {@code message}. */
  void endsFailed(String sandboxId, List<PostStartHookAction> hooks, String message) throws Exception {
    Pod idle = idlePodWithServer();
    claim(idle, sandboxId, "example/sandbox:2", Duration.ofMinutes(2), null, hooks);
    Sandbox record = await("history record of " + sandboxId, Duration.ofSeconds(30), () -> gateway.record(sandboxId));
    assertThat(record.status()).isEqualTo("Failed");
    assertThat(record.failureReason()).isEqualTo("PostStartHookFailed");
    assertThat(record.failureMessage()).isEqualTo(message);
  }

  static PostStartHookAction post(String path, Map<String, Object> body, Map<String, String> headers) {
    return new PostStartHookAction(null, new HttpPostHookAction(HOOK_PORT, path, body, headers));
  }

  @Test
  void httpPostHooksRunInOrderOnceTheSandboxRuns() throws Exception {
    Pod idle = idlePodWithServer();
    claim(idle, "sbxhooks1", "example/sandbox:2", Duration.ofMinutes(2), null,
        List.of(post("/first", Map.of("envVars", Map.of("A", "1")), Map.of("x-token", "t1")), post("second", null, null)));

    Received first = received.poll(20, TimeUnit.SECONDS);
    assertThat(first).as("the first hook's request").isNotNull();
    assertThat(first.method()).isEqualTo("POST");
    assertThat(first.path()).isEqualTo("/first");
    assertThat(Json.mapper().readTree(first.body())).isEqualTo(Json.mapper().readTree("{\"envVars\":{\"A\":\"1\"}}"));
    assertThat(first.contentType()).isEqualTo("application/json");
    assertThat(first.token()).as("the hook's own header").isEqualTo("t1");
    assertThat(first.podPhase()).as("hooks run after starting → running").isEqualTo("running");

    Received second = received.poll(20, TimeUnit.SECONDS);
    assertThat(second).as("the second hook's request").isNotNull();
    assertThat(second.path()).as("a path without its slash gets one").isEqualTo("/second");
    assertThat(second.body()).as("no body: an empty JSON object").isEqualTo("{}");
  }

  @Test
  void aFailingHookEndsTheSandboxAsFailedAndTheRestDoNotRun() throws Exception {
    endsFailed("sbxhooks2", List.of(post("/fail", null, null), post("/never", null, null)),
        "postStartHooks[0] (httpPost :9999/fail) failed: answered 500: boom");
    assertThat(received).extracting(Received::path).as("hooks after the failed one").containsExactly("/fail");
  }

  @Test
  void hooksStopWhenTheSandboxIsReleasedMeanwhile() throws Exception {
    Pod idle = idlePodWithServer();
    claim(idle, "sbxhooks3", "example/sandbox:2", Duration.ofMinutes(2), null, List.of(post("/slow", null, null), post("/after", null, null)));
    Received slow = received.poll(20, TimeUnit.SECONDS);
    assertThat(slow).as("the first hook's request").isNotNull();

    gateway.vertx.eventBus().request(sh.navix.agentbox.api.bus.Bus.RELEASE, gateway.release("sbxhooks3")).await(10, TimeUnit.SECONDS);
    await("the leader sees the release", Duration.ofSeconds(10), () -> gateway.cache.pod("default", Pods.name(idle))
        .filter(p -> Pods.inPhase(p, SandboxPhase.STOPPING)).orElse(null));
    slowAnswer.complete(); // the first hook succeeds, after the release
    Sandbox record = await("history record", Duration.ofSeconds(30), () -> gateway.record("sbxhooks3"));
    assertThat(record.status()).as("released by its user, not failed").isEqualTo("Completed");
    assertThat(received).as("hooks after the release").isEmpty();
  }

  @Test
  void anExecHookRunsInTheFirstContainerOnceTheSandboxRuns() throws Exception {
    Pod idle = idlePodWithServer();
    claim(idle, "sbxhooks4", "example/sandbox:2", Duration.ofMinutes(2), null,
        List.of(new PostStartHookAction(new PostStartHookAction.ExecHookAction("echo ready > /tmp/marker"), null), post("/after", null, null)));
    Received after = received.poll(20, TimeUnit.SECONDS);
    assertThat(after).as("the hook after the exec").isNotNull();
    assertThat(after.path()).isEqualTo("/after");
    // Recorded by the container the sandbox runs in (the one started on example/sandbox:2).
    assertThat(cluster.execs("default", Pods.name(idle))).singleElement().satisfies(e -> {
      assertThat(e.container()).isEqualTo("sandbox");
      assertThat(e.command()).containsExactly("sh", "-c", "echo ready > /tmp/marker");
    });
  }

  @Test
  void aFailingExecHookEndsTheSandboxWithItsExitCode() throws Exception {
    endsFailed("sbxhooks5", List.of(exec("exit 3")), "postStartHooks[0] (exec exit 3) failed: exited with code 3");
  }

  @Test
  void aHookWithoutAnAnswerFailsAtTheHookTimeout() throws Exception {
    endsFailed("sbxhooks6", List.of(post("/hang", null, null)), "postStartHooks[0] (httpPost :9999/hang) failed: no answer within 3 s");
  }

  @Test
  void anExecHookThatDoesNotFinishFailsAtTheHookTimeout() throws Exception {
    endsFailed("sbxhooks8", List.of(exec("sleep 600")), "postStartHooks[0] (exec sleep 600) failed: did not finish within 3 s");
  }

  /** A replica that stops leading while a hook runs abandons it: the sandbox is not failed for it. */
  @Test
  void aHookInProgressWhenTheLeaderStepsDownIsAbandonedNotFailed() throws Exception {
    abandonedWhenTheLeaderStepsDown("sbxhooks7", post("/hang", null, null), () -> received.poll(20, TimeUnit.SECONDS) != null);
  }

  @Test
  void anExecHookInProgressWhenTheLeaderStepsDownIsAbandonedNotFailed() throws Exception {
    abandonedWhenTheLeaderStepsDown("sbxhooks9", exec("sleep 600"), () -> await("the exec started", Duration.ofSeconds(20),
        () -> cluster.execs("default", Pods.name(lastIdle)).isEmpty() ? null : true));
  }

  static PostStartHookAction exec(String command) {
    return new PostStartHookAction(new PostStartHookAction.ExecHookAction(command), null);
  }

  Pod lastIdle;

  void abandonedWhenTheLeaderStepsDown(String sandboxId, PostStartHookAction hook, java.util.concurrent.Callable<Boolean> started)
      throws Exception {
    Pod idle = idlePodWithServer();
    lastIdle = idle;
    double before = abandoned();
    claim(idle, sandboxId, "example/sandbox:2", Duration.ofMinutes(2), null, List.of(hook));
    assertThat(started.call()).as("the hook started").isTrue();
    try {
      sh.navix.agentbox.devcluster.Leases.takeOver(admin, "default", "agentbox-gateway-leader", "somebody-else", Duration.ofSeconds(2));
      await("the hook abandoned", Duration.ofSeconds(20), () -> abandoned() > before ? true : null);
      Pod now = pod(Pods.name(idle));
      assertThat(Pods.sandboxId(now)).isEqualTo(sandboxId);
      assertThat(Pods.annotation(now, sh.navix.agentbox.api.crd.Annotations.STOP_REASON)).as("not released").isNull();
    } finally {
      leading(gateway); // the other holder's short Lease runs out and this replica leads again
    }
  }

  static double abandoned() {
    return gateway.registry.find("agentbox_post_start_hooks_total").tag("outcome", "abandoned").counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }
}
