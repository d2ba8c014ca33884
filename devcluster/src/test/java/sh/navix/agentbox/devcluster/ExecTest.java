package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.http.WebSocketHandshakeException;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pod exec API: through fabric8's {@code exec} and {@code ExecWatch.exitCode()}, as production
 * code calls it, and as raw WebSocket upgrades where the exact answer of the server matters.
 */
class ExecTest extends DevClusterTestBase {
  static final String V4 = "v4.channel.k8s.io";
  static final String SUCCESS = "{\"metadata\":{},\"status\":\"Success\"}";

  @Test
  void aCommandRunsInTheNamedContainerAndIsRecorded() throws Exception {
    runningPod("exec-true");
    Instant before = Instant.now();
    try (ExecWatch w = exec("exec-true", "main", "true")) {
      assertThat(exitCode(w)).isZero();
    }
    List<DevCluster.Exec> execs = cluster.execs("default", "exec-true");
    assertThat(execs).hasSize(1);
    assertThat(execs.get(0).container()).isEqualTo("main");
    assertThat(execs.get(0).command()).containsExactly("sh", "-c", "true");
    assertThat(execs.get(0).at()).isBetween(before, Instant.now());
  }

  @Test
  void exitNExitsWithN() throws Exception {
    runningPod("exec-exit");
    try (ExecWatch w = exec("exec-exit", "main", " exit 3 ")) {
      assertThat(exitCode(w)).isEqualTo(3);
    }
    assertThat(cluster.execs("default", "exec-exit")).extracting(DevCluster.Exec::command)
        .containsExactly(List.of("sh", "-c", " exit 3 "));
  }

  @Test
  void aListOrPipelineIsNotTakenForSuccess() throws Exception {
    runningPod("exec-list");
    for (String script : List.of("echo x; exit 3", "true && false", "false || true", "cat /etc/hosts | grep x", "echo a\nexit 1")) {
      try (ExecWatch w = exec("exec-list", "main", script)) {
        assertThat(exitCode(w)).as(script).isEqualTo(2);
      }
    }
  }

  @Test
  void echoWritesItsTextToStdout() throws Exception {
    runningPod("exec-echo");
    try (ExecWatch w = exec("exec-echo", "main", "echo hello")) {
      assertThat(exitCode(w)).isZero();
      assertThat(readToEnd(w.getOutput())).isEqualTo("hello\n");
      assertThat(readToEnd(w.getError())).isEmpty();
    }
  }

  @Test
  void anUnknownPodIs404() throws Exception {
    KubernetesClientException e = catchThrowableOfType(KubernetesClientException.class, () -> exec("no-such-pod", "main", "true"));
    assertThat(e.getCode()).isEqualTo(404);

    // fabric8 reads the pod before it upgrades; the server itself answers as kube-apiserver does.
    Upgrade u = upgrade("no-such-pod", "container=main&command=true&stdout=true", V4);
    assertThat(u.status()).isEqualTo(404);
    JsonObject status = new JsonObject(u.body());
    assertThat(status.getString("kind")).isEqualTo("Status");
    assertThat(status.getString("apiVersion")).isEqualTo("v1");
    assertThat(status.getString("status")).isEqualTo("Failure");
    assertThat(status.getString("reason")).isEqualTo("NotFound");
    assertThat(status.getInteger("code")).isEqualTo(404);
    assertThat(status.getString("message")).isEqualTo("pods \"no-such-pod\" not found");
  }

  @Test
  void anUnknownContainerIs400() throws Exception {
    runningPod("exec-container");
    // fabric8 checks the container against the pod's spec before it upgrades.
    KubernetesClientException e = catchThrowableOfType(KubernetesClientException.class, () -> exec("exec-container", "nope", "true"));
    assertThat(e.getMessage()).contains("nope");

    Upgrade u = upgrade("exec-container", "container=nope&command=true&stdout=true", V4);
    assertThat(u.status()).isEqualTo(400);
    JsonObject status = new JsonObject(u.body());
    assertThat(status.getString("reason")).isEqualTo("BadRequest");
    assertThat(status.getInteger("code")).isEqualTo(400);
    assertThat(status.getString("message")).isEqualTo("container nope is not valid for pod exec-container");
    assertThat(cluster.execs("default", "exec-container")).isEmpty();
  }

  @Test
  void aContainerThatIsNotRunningIs400() throws Exception {
    createPortlessPod("exec-pulling", "example/slow-pull:1");
    await("the node pulling the image", Duration.ofSeconds(10), () -> {
      var p = get("exec-pulling");
      return p != null && p.getStatus() != null && p.getStatus().getContainerStatuses() != null
          && !p.getStatus().getContainerStatuses().isEmpty() ? p : null;
    });
    KubernetesClientException e = catchThrowableOfType(KubernetesClientException.class, () -> {
      try (ExecWatch w = exec("exec-pulling", "main", "true")) {
        exitCode(w);
      }
    });
    // fabric8 throws from exec() and keeps the server's answer in the cause.
    assertThat(e).cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
        h -> assertThat(h.getResponse().code()).isEqualTo(400));

    Upgrade u = upgrade("exec-pulling", "container=main&command=true&stdout=true", V4);
    assertThat(u.status()).isEqualTo(400);
    assertThat(new JsonObject(u.body()).getString("message")).isEqualTo(
        "unable to upgrade connection: pod default/exec-pulling is not running (no container has started)");
  }

  @Test
  void aPodWithSeveralContainersWantsAContainerNameAndItsContainersRunOnTheirOwn() throws Exception {
    client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("exec-two").endMetadata()
        .withNewSpec()
        .addNewContainer().withName("app").withImage("example/app:1").endContainer()
        .addNewContainer().withName("late").withImage("example/slow-pull:1").endContainer()
        .endSpec().build()).create();
    await("container app running", Duration.ofSeconds(10), () -> {
      var p = get("exec-two");
      return p != null && p.getStatus() != null && p.getStatus().getContainerStatuses() != null
          && p.getStatus().getContainerStatuses().stream().anyMatch(c -> c.getName().equals("app") && Boolean.TRUE.equals(c.getReady()))
          ? p : null;
    });

    Upgrade unnamed = upgrade("exec-two", "command=true&stdout=true", V4);
    assertThat(unnamed.status()).isEqualTo(400);
    assertThat(new JsonObject(unnamed.body()).getString("message"))
        .isEqualTo("a container name must be specified for pod exec-two, choose one of: [app late]");

    Upgrade late = upgrade("exec-two", "container=late&command=true&stdout=true", V4);
    assertThat(late.status()).isEqualTo(400);
    assertThat(new JsonObject(late.body()).getString("message"))
        .isEqualTo("unable to upgrade connection: container late in pod default/exec-two is not running");

    try (ExecWatch w = exec("exec-two", "app", "exit 5")) {
      assertThat(exitCode(w)).isEqualTo(5);
    }
    assertThat(cluster.execs("default", "exec-two")).extracting(DevCluster.Exec::container).containsExactly("app");
  }

  @Test
  void withoutAContainerNameTheOnlyContainerRunsIt() throws Exception {
    runningPod("exec-only");
    Upgrade u = upgrade("exec-only", "command=sh&command=-c&command=true&stdout=true", V4);
    assertThat(u.status()).isEqualTo(101);
    assertThat(u.frames()).containsExactly("3:" + SUCCESS);
    assertThat(cluster.execs("default", "exec-only")).extracting(DevCluster.Exec::container).containsExactly("main");
  }

  /** The exact frames of {@code v4.channel.k8s.io}: channel byte, then data; the outcome on channel 3; then a close. */
  @Test
  void theV4ChannelProtocolCarriesStdoutThenAStatus() throws Exception {
    runningPod("exec-v4");
    Upgrade echo = upgrade("exec-v4", "command=sh&command=-c&command=echo%20hi%20there&container=main&stdout=true", "v5.channel.k8s.io", V4);
    assertThat(echo.status()).isEqualTo(101);
    assertThat(echo.protocol()).isEqualTo(V4);
    assertThat(echo.frames()).containsExactly("1:hi there\n", "3:" + SUCCESS);

    Upgrade quiet = upgrade("exec-v4", "command=sh&command=-c&command=echo%20hi&container=main&stderr=true", V4);
    assertThat(quiet.frames()).as("stdout not asked for").containsExactly("3:" + SUCCESS);

    Upgrade exit = upgrade("exec-v4", "command=sh&command=-c&command=exit%207&container=main&stdout=true", V4);
    assertThat(exit.frames()).containsExactly("3:{\"metadata\":{},\"status\":\"Failure\","
        + "\"message\":\"command terminated with non-zero exit code: error executing command [sh -c exit 7], exit code 7\","
        + "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"7\"}]}}");
  }

  /** Before v4, the error channel carries only the text of an error, and nothing on success. */
  @Test
  void olderChannelProtocolsCarryPlainErrorText() throws Exception {
    runningPod("exec-v3");
    Upgrade ok = upgrade("exec-v3", "command=sh&command=-c&command=true&container=main&stdout=true", "v3.channel.k8s.io");
    assertThat(ok.protocol()).isEqualTo("v3.channel.k8s.io");
    assertThat(ok.frames()).isEmpty();

    Upgrade exit = upgrade("exec-v3", "command=sh&command=-c&command=exit%207&container=main&stdout=true", "v3.channel.k8s.io");
    assertThat(exit.frames())
        .containsExactly("3:command terminated with non-zero exit code: error executing command [sh -c exit 7], exit code 7");
  }

  @Test
  void aRequestThatDoesNotUpgradeIs400() throws Exception {
    runningPod("exec-plain");
    var r = http("GET", cluster.masterUrl() + "/api/v1/namespaces/default/pods/exec-plain/exec?command=true&container=main&stdout=true", null);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(r.body()).getString("message")).isEqualTo("Upgrade request required");
    assertThat(cluster.execs("default", "exec-plain")).isEmpty();
  }

  @Test
  void aContainerRestartedOnAnImageChangeHasRunNothing() throws Exception {
    runningPodThatRanOneCommand("exec-swap");

    // First to an image that never pulls: the old container is gone and no new one runs.
    swapImage("exec-swap", "example/fail-pull:2");
    await("the node pulling the new image", Duration.ofSeconds(10), () -> {
      var p = get("exec-swap");
      return "example/fail-pull:2".equals(p.getStatus().getContainerStatuses().get(0).getImage()) ? p : null;
    });
    assertThat(cluster.execs("default", "exec-swap")).isEmpty();
    assertThat(upgrade("exec-swap", "container=main&command=true&stdout=true", V4).status()).isEqualTo(400);

    swapImage("exec-swap", "example/app:2");
    awaitReady("exec-swap", "example/app:2");
    assertThat(cluster.execs("default", "exec-swap")).isEmpty();

    try (ExecWatch w = exec("exec-swap", "main", "echo again")) {
      assertThat(exitCode(w)).isZero();
    }
    assertThat(cluster.execs("default", "exec-swap")).extracting(e -> e.command().get(2)).containsExactly("echo again");
  }

  @Test
  void aPodDeletedAndCreatedAgainHasRunNothing() throws Exception {
    runningPodThatRanOneCommand("exec-again");
    client.pods().inNamespace("default").withName("exec-again").delete();
    await("pod gone", Duration.ofSeconds(10), () -> get("exec-again") == null ? true : null);
    // The simulated node learns of the deletion from its watch, a moment after the API server
    // stops serving the pod: the record goes with the container, not with the GET's 404.
    await("the pod's execs forgotten", Duration.ofSeconds(10), () -> cluster.execs("default", "exec-again").isEmpty() ? true : null);
    runningPod("exec-again");
    assertThat(cluster.execs("default", "exec-again")).isEmpty();
  }

  // ---------------------------------------------------------------- helpers

  /** A pod with one container {@code main} on example/app:1, running. */
  static void runningPod(String name) {
    createPortlessPod(name, "example/app:1");
    awaitReady(name, "example/app:1");
  }

  /** A running pod in which {@code sh -c true} has run once. */
  static void runningPodThatRanOneCommand(String name) throws Exception {
    runningPod(name);
    try (ExecWatch w = exec(name, "main", "true")) {
      assertThat(exitCode(w)).isZero();
    }
    assertThat(cluster.execs("default", name)).hasSize(1);
  }

  /** Without ports the node starts no servers for the pod: exec needs none. */
  static void createPortlessPod(String name, String image) {
    client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName(name).endMetadata()
        .withNewSpec().addNewContainer().withName("main").withImage(image).endContainer().endSpec().build()).create();
  }

  static void swapImage(String pod, String image) {
    client.pods().inNamespace("default").withName(pod).patch(PatchContext.of(PatchType.JSON),
        "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"" + image + "\"}]");
  }

  /** The call production code makes: {@code sh -c script} in {@code container}. */
  static ExecWatch exec(String pod, String container, String script) {
    return client.pods().inNamespace("default").withName(pod).inContainer(container).redirectingOutput().redirectingError()
        .exec("sh", "-c", script);
  }

  static int exitCode(ExecWatch w) throws Exception {
    try {
      return w.exitCode().get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof KubernetesClientException k ? k : e;
    }
  }

  /** Reads {@code in} to its end (the end comes with the exit code), failing after 10 s. */
  static String readToEnd(InputStream in) throws Exception {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (java.io.IOException e) {
        throw new UncheckedIOException(e);
      }
    }).get(10, TimeUnit.SECONDS);
  }

  /** A raw upgrade's outcome: the status (101 when accepted), a refusal's body, the subprotocol, each message as "channel:text". */
  record Upgrade(int status, String body, String protocol, List<String> frames) {}

  /** Upgrades {@code pods/{pod}/exec?query} offering {@code protocols}, and collects every message until the server closes. */
  static Upgrade upgrade(String pod, String query, String... protocols) throws Exception {
    URI api = URI.create(cluster.masterUrl());
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost(api.getHost()).setPort(api.getPort())
        .setURI("/api/v1/namespaces/default/pods/" + pod + "/exec?" + query).setSubProtocols(List.of(protocols));
    WebSocketClient wsClient = vertx.createWebSocketClient();
    Promise<Upgrade> done = Promise.promise();
    // Connected from a context, so that the handlers are set before the first message can arrive.
    vertx.getOrCreateContext().runOnContext(v -> wsClient.connect(options).onComplete(ar -> {
      if (ar.failed()) {
        if (ar.cause() instanceof UpgradeRejectedException r) {
          done.complete(new Upgrade(r.getStatus(), r.getBody() == null ? "" : r.getBody().toString(), null, List.of()));
        } else {
          done.fail(ar.cause());
        }
        return;
      }
      List<String> frames = new ArrayList<>();
      ar.result().binaryMessageHandler(b -> frames.add(frame(b)));
      ar.result().closeHandler(x -> done.complete(new Upgrade(101, "", ar.result().subProtocol(), List.copyOf(frames))));
    }));
    try {
      return done.future().await(10, TimeUnit.SECONDS);
    } finally {
      wsClient.close();
    }
  }

  static String frame(Buffer b) {
    return b.getByte(0) + ":" + b.getString(1, b.length(), "UTF-8");
  }
}
