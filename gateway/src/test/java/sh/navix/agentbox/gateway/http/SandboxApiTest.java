package sh.navix.agentbox.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.gateway.Gateway;
import sh.navix.agentbox.gateway.GatewayOptions;

/** The /v1 sandbox API on dev mode, as a user drives it with HTTP. */
class SandboxApiTest {
  @TempDir static Path home;
  static Gateway gateway;
  static KubernetesClient admin;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void boot() throws Exception {
    GatewayOptions o = GatewayOptions.parse(List.of("dev", "--api-port", "0", "--dev-api-port", "0", "--proxy-port", "0", "--grpc-port", "0", "--home", home.toString(),
        "--dev-pull-delay", "100ms", "--max-claim-wait", "20s"), Map.of());
    gateway = Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    admin = gateway.dev().cluster().client();
    contract = new OpenApiContract();
    await("demo pool warm", Duration.ofSeconds(30), () -> idle("demo") == 3 ? true : null);
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.stop().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static long idle(String pool) {
    return admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, pool).list().getItems().stream()
        .filter(p -> Pods.inPhase(p, sh.navix.agentbox.api.crd.SandboxPhase.IDLE) && Pods.ready(p) && !Pods.deleting(p)).count();
  }

  static OpenApiContract contract;

  /** Every response a test receives is checked against /openapi.json. */
  static HttpResponse<String> call(String method, String path, String body, String... headers) throws Exception {
    HttpResponse<String> r = send(method, path, body, headers);
    List<String> problems = contract.check(method, path, r.statusCode(), r.headers().firstValue("content-type").orElse(null), r.body());
    assertThat(problems).as("OpenAPI contract").isEmpty();
    return r;
  }

  static HttpResponse<String> send(String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + path)).timeout(Duration.ofSeconds(60));
    if (body != null) {
      b.header("content-type", "application/json");
    }
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonObject json(HttpResponse<String> r) {
    return new JsonObject(r.body());
  }

  static <T> T await(String what, Duration timeout, Supplier<T> probe) {
    return sh.navix.agentbox.devcluster.Await.until(what, timeout, probe);
  }

  static void pool(String name, int replicas) {
    SandboxPool p = new SandboxPool();
    p.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace("default").build());
    var spec = new sh.navix.agentbox.api.crd.SandboxPoolSpec();
    spec.setReplicas(replicas);
    spec.setTemplateName("demo");
    p.setSpec(spec);
    admin.resource(p).create();
    await(name + " warm", Duration.ofSeconds(30), () -> idle(name) == replicas ? true : null);
  }

  /**
   * A DELETE right after the create must release the sandbox, even before this replica's informer
   * has seen the claim (it asks the API server before answering 404): no sandbox is left running
   * because its release came too soon.
   */
  @Test
  void aDeleteRightAfterTheCreateReleasesTheSandbox() throws Exception {
    pool("quick", 20);
    List<String> ids = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> created = call("POST", "/v1/sandboxes", "{\"poolName\":\"quick\",\"waitForRunning\":false}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      String id = json(created).getJsonObject("sandbox").getString("sandboxId");
      ids.add(id);
      HttpResponse<String> deleted = call("DELETE", "/v1/sandboxes/" + id, null);
      assertThat(deleted.statusCode()).as("DELETE of %s right after its create: %s", id, deleted.body()).isEqualTo(202);
    }
    await("no pod holds any of the released sandboxes", Duration.ofSeconds(30), () -> admin.pods().inNamespace("default")
        .withLabel(Labels.SANDBOX_POOL, "quick").list().getItems().stream().noneMatch(p -> ids.contains(Pods.label(p, Labels.SANDBOX_ID))) ? true : null);
  }

  /** The timeout and readiness routes also know a sandbox whose create was just answered. */
  @Test
  void timeoutAndReadinessRightAfterTheCreateFindTheSandbox() throws Exception {
    pool("fresh", 12);
    for (int i = 0; i < 12; i++) {
      HttpResponse<String> created = call("POST", "/v1/sandboxes", "{\"poolName\":\"fresh\",\"waitForRunning\":false}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      String id = json(created).getJsonObject("sandbox").getString("sandboxId");
      HttpResponse<String> timeout = call("PUT", "/v1/sandboxes/" + id + "/timeout", "{\"timeout\":\"10m\"}");
      assertThat(timeout.statusCode()).as("PUT timeout of %s right after its create: %s", id, timeout.body()).isEqualTo(204);
      HttpResponse<String> ready = call("GET", "/v1/sandboxes/" + id + "/is_ready", null);
      assertThat(ready.statusCode()).as("is_ready of %s: %s", id, ready.body()).isEqualTo(200);
      assertThat(json(ready).getString("sandboxId")).isEqualTo(id);
    }
  }

  /**
   * Short-lived sandboxes: claimed and released faster than the pool reconciles (a released pod of
   * this pool is deleted and replaced), the pool still refills to its size every time.
   */
  @Test
  void aPoolRefillsAfterSandboxesClaimedAndReleasedFasterThanItReconciles() throws Exception {
    pool("churn", 4);
    for (int i = 0; i < 15; i++) {
      HttpResponse<String> created = call("POST", "/v1/sandboxes", "{\"poolName\":\"churn\",\"waitForRunning\":false}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      assertThat(call("DELETE", "/v1/sandboxes/" + json(created).getJsonObject("sandbox").getString("sandboxId"), null).statusCode()).isEqualTo(202);
      int round = i;
      await("churn pool back to 4 idle pods after round " + round, Duration.ofSeconds(30), () -> idle("churn") == 4 ? true : null);
    }
  }

  @Test
  void everyRouteIsDocumentedAndTheServedDocumentIsTheContract() throws Exception {
    JsonObject served = json(call("GET", "/openapi.json", null));
    assertThat(served).isEqualTo(contract.doc);
    for (var e : SandboxApi.routeTable().entrySet()) {
      JsonObject item = served.getJsonObject("paths").getJsonObject(e.getKey());
      assertThat(item).as("path %s documented", e.getKey()).isNotNull();
      for (var m : e.getValue()) {
        assertThat(item.getJsonObject(m.name().toLowerCase(java.util.Locale.ROOT))).as("%s %s documented", m, e.getKey()).isNotNull();
      }
    }
    for (String path : served.getJsonObject("paths").fieldNames()) {
      assertThat(path.startsWith("/v1/") ? SandboxApi.routeTable().containsKey(path) : List.of("/healthz", "/readyz", "/metrics", "/openapi.json").contains(path))
          .as("documented path %s exists", path).isTrue();
    }
  }

  @Test
  void theContractCatchesResponsesThatDoNotMatchIt() {
    assertThat(contract.check("GET", "/v1/sandboxes/abc", 200, "application/json", "{\"sandbox\":{\"sandboxId\":\"abc\"}}"))
        .as("missing required fields").hasSize(1);
    assertThat(contract.check("GET", "/v1/sandboxes/abc", 200, "application/json",
        "{\"sandbox\":{\"sandboxId\":\"abc\",\"namespace\":\"d\",\"poolName\":\"p\",\"podName\":\"x\",\"status\":\"Running\",\"extra\":1}}"))
        .as("undocumented field").hasSize(1);
    assertThat(contract.check("GET", "/v1/sandboxes/abc", 418, "application/json", "{}")).as("undocumented status").hasSize(1);
    assertThat(contract.check("GET", "/v1/nothing", 200, "application/json", "{}")).as("undocumented path").hasSize(1);
  }

  @Test
  void createRunDeleteRecyclesThePod() throws Exception {
    HttpResponse<String> created = call("POST", "/v1/sandboxes",
        "{\"poolName\":\"demo\",\"image\":\"agentbox/sandbox:dev\",\"metadata\":{\"task\":\"t1\"},\"idleTimeout\":\"10m\",\"waitForRunning\":true}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonObject s = json(created).getJsonObject("sandbox");
    String id = s.getString("sandboxId");
    assertThat(id).matches("[a-z0-9]{20}");
    assertThat(s.getString("status")).isEqualTo("Running");
    assertThat(s.getString("poolName")).isEqualTo("demo");
    assertThat(s.getJsonObject("metadata").getString("task")).isEqualTo("t1");
    assertThat(s.getJsonObject("endpoints").getJsonObject("http").getString("url"))
        .isEqualTo("http://8080-" + id + ".sandbox.localhost:" + gateway.proxyPort());
    Pod pod = admin.pods().inNamespace("default").withName(s.getString("podName")).get();
    assertThat(Pods.annotation(pod, "agentbox.navix.sh/idle-timeout")).isEqualTo("600");
    String whoami = "http://" + pod.getStatus().getPodIP() + ":8080/whoami";
    String bootBefore = new JsonObject(HTTP.send(HttpRequest.newBuilder(URI.create(whoami)).build(), HttpResponse.BodyHandlers.ofString()).body()).getString("bootId");

    HttpResponse<String> got = call("GET", "/v1/sandboxes/" + id, null);
    assertThat(got.statusCode()).isEqualTo(200);
    assertThat(json(got).getJsonObject("sandbox").getLong("durationSeconds")).isNotNull();

    HttpResponse<String> ready = call("GET", "/v1/sandboxes/" + id + "/is_ready", null);
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(json(ready).getBoolean("ready")).isTrue();
    assertThat(json(ready).getJsonObject("endpoints").getJsonObject("http").getBoolean("ready")).isTrue();

    HttpResponse<String> deleted = call("DELETE", "/v1/sandboxes/" + id, null);
    assertThat(deleted.statusCode()).isEqualTo(202);
    assertThat(json(deleted).getString("status")).isEqualTo("Stopping");
    assertThat(json(deleted).getString("podName")).isEqualTo(pod.getMetadata().getName());

    JsonObject done = await("Completed in history", Duration.ofSeconds(30), () -> {
      try {
        JsonObject b = json(call("GET", "/v1/sandboxes/" + id, null)).getJsonObject("sandbox");
        return "Completed".equals(b.getString("status")) ? b : null;
      } catch (Exception e) {
        return null;
      }
    });
    assertThat(done.getString("recycledAt")).isNotNull();
    Pod back = await("pod idle again", Duration.ofSeconds(30), () -> {
      Pod p = admin.pods().inNamespace("default").withName(pod.getMetadata().getName()).get();
      return Pods.inPhase(p, sh.navix.agentbox.api.crd.SandboxPhase.IDLE) && Pods.ready(p) ? p : null;
    });
    String bootAfter = new JsonObject(HTTP.send(HttpRequest.newBuilder(URI.create("http://" + back.getStatus().getPodIP() + ":8080/whoami")).build(),
        HttpResponse.BodyHandlers.ofString()).body()).getString("bootId");
    assertThat(bootAfter).isNotEqualTo(bootBefore);

    HttpResponse<String> again = call("DELETE", "/v1/sandboxes/" + id, null);
    assertThat(again.statusCode()).as("releasing twice").isEqualTo(202);
    assertThat(json(again).getString("status")).isEqualTo("Completed");
  }

  @Test
  void waitBudgetExhaustedAnswers409WithPoolDetailAndRetryAfter() throws Exception {
    pool("tiny", 1);
    HttpResponse<String> first = call("POST", "/v1/sandboxes", "{\"poolName\":\"tiny\",\"image\":\"agentbox/sandbox:dev\"}");
    assertThat(first.statusCode()).isEqualTo(201);
    HttpResponse<String> second = call("POST", "/v1/sandboxes", "{\"poolName\":\"tiny\",\"waitTimeoutSeconds\":1}");
    assertThat(second.statusCode()).isEqualTo(409);
    assertThat(second.headers().firstValue("Retry-After")).isPresent();
    JsonObject detail = json(second).getJsonObject("detail");
    assertThat(detail.getInteger("idle")).isZero();
    assertThat(detail.getInteger("starting") + detail.getInteger("running")).isEqualTo(1);
    assertThat(json(second).getString("error")).contains("no idle pod");
  }

  @Test
  void waitersAreServedFirstComeFirstServedAsPodsFreeUp() throws Exception {
    pool("fifo", 1);
    String holder = json(call("POST", "/v1/sandboxes", "{\"poolName\":\"fifo\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true}"))
        .getJsonObject("sandbox").getString("sandboxId");
    List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
    List<Instant> answered = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int i = 0; i < 3; i++) {
      String body = "{\"poolName\":\"fifo\",\"image\":\"agentbox/sandbox:dev\",\"metadata\":{\"n\":\"" + i + "\"},\"waitTimeoutSeconds\":20}";
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes"))
          .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
      waiting.add(HTTP.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> answered.add(Instant.now())));
      // Each request is queued before the next is sent: the queue length metric shows it.
      int expected = i + 1;
      await("queued " + expected, Duration.ofSeconds(10), () -> queueLength("fifo") == expected ? true : null);
    }
    // The queue is mirrored to the pool (throttled): status.pendingRequests (at most every 3 s) and
    // the last create time (flushed every 5 s, so it may come after the queue length).
    await("pendingRequests and the last create time mirrored", Duration.ofSeconds(15), () -> {
      SandboxPool p = admin.resources(SandboxPool.class).inNamespace("default").withName("fifo").get();
      return p.getStatus() != null && Integer.valueOf(3).equals(p.getStatus().getPendingRequests())
          && Pods.annotation(p, "agentbox.navix.sh/last-sandbox-create-time") != null ? p : null;
    });
    String current = holder;
    List<String> order = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      assertThat(call("DELETE", "/v1/sandboxes/" + current, null).statusCode()).isEqualTo(202);
      int served = i;
      HttpResponse<String> r = await("waiter served", Duration.ofSeconds(30), () -> waiting.stream()
          .filter(CompletableFuture::isDone).map(CompletableFuture::join).filter(x -> x.statusCode() == 201)
          .filter(x -> !order.contains(json(x).getJsonObject("sandbox").getJsonObject("metadata").getString("n")))
          .findFirst().orElse(null));
      JsonObject s = json(r).getJsonObject("sandbox");
      order.add(s.getJsonObject("metadata").getString("n"));
      current = s.getString("sandboxId");
      assertThat(order).hasSize(served + 1);
    }
    assertThat(order).containsExactly("0", "1", "2");
  }

  static double queueLength(String pool) {
    try {
      for (String line : call("GET", "/metrics", null).body().split("\n")) {
        if (line.startsWith("agentbox_claim_queue_length{") && line.contains("pool=\"" + pool + "\"")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return -1;
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void idempotencyKeyReturnsTheSameSandbox() throws Exception {
    String body = "{\"poolName\":\"demo\",\"image\":\"agentbox/sandbox:dev\"}";
    HttpResponse<String> a = call("POST", "/v1/sandboxes", body, "Idempotency-Key", "job-42-attempt");
    HttpResponse<String> b = call("POST", "/v1/sandboxes", body, "Idempotency-Key", "job-42-attempt");
    assertThat(a.statusCode()).isEqualTo(201);
    assertThat(b.statusCode()).isEqualTo(201);
    String id = json(a).getJsonObject("sandbox").getString("sandboxId");
    assertThat(json(b).getJsonObject("sandbox").getString("sandboxId")).isEqualTo(id);
    assertThat(admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, id).list().getItems()).hasSize(1);
    call("DELETE", "/v1/sandboxes/" + id, null);

    // Retries racing each other on one replica: one sandbox, one pod.
    List<CompletableFuture<HttpResponse<String>>> racing = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      racing.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes"))
          .header("content-type", "application/json").header("Idempotency-Key", "job-43")
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (var f : racing) {
      HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(201);
      ids.add(json(r).getJsonObject("sandbox").getString("sandboxId"));
    }
    assertThat(ids).hasSize(1);
    String raced = ids.iterator().next();
    assertThat(await("claimed pod visible", Duration.ofSeconds(10), () -> {
      var pods = admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, raced).list().getItems();
      return pods.isEmpty() ? null : pods;
    })).hasSize(1);
    call("DELETE", "/v1/sandboxes/" + raced, null);
  }

  /**
   * A client that gives up while its create waits for a pod (its connection closes) leaves nothing
   * behind: the request leaves the queue, and the pod that frees up next goes to the next request,
   * not to a sandbox whose id nobody has.
   */
  @Test
  void aCreateWhoseClientLeftWhileItWaitedClaimsNothing() throws Exception {
    pool("gone", 1);
    String holder = json(call("POST", "/v1/sandboxes", "{\"poolName\":\"gone\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true}"))
        .getJsonObject("sandbox").getString("sandboxId");
    String body = "{\"poolName\":\"gone\",\"image\":\"agentbox/sandbox:dev\",\"waitTimeoutSeconds\":120}";
    try (java.net.Socket client = new java.net.Socket("127.0.0.1", gateway.apiPort())) {
      client.getOutputStream().write(("POST /v1/sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
          + body.length() + "\r\n\r\n" + body).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      client.getOutputStream().flush();
      await("the create waits in the queue", Duration.ofSeconds(10), () -> queueLength("gone") == 1 ? true : null);
    }
    await("the queue empties once its client has gone", Duration.ofSeconds(10), () -> queueLength("gone") == 0 ? true : null);

    assertThat(call("DELETE", "/v1/sandboxes/" + holder, null).statusCode()).isEqualTo(202);
    await("the pod idle again", Duration.ofSeconds(30), () -> idle("gone") == 1 ? true : null);
    HttpResponse<String> next = call("POST", "/v1/sandboxes", "{\"poolName\":\"gone\",\"waitTimeoutSeconds\":10}");
    assertThat(next.statusCode()).as(next.body()).isEqualTo(201);
    call("DELETE", "/v1/sandboxes/" + json(next).getJsonObject("sandbox").getString("sandboxId"), null);
  }

  @Test
  void unknownPoolIs404WithTheAvailablePools() throws Exception {
    HttpResponse<String> r = call("POST", "/v1/sandboxes", "{\"poolName\":\"nope\"}");
    assertThat(r.statusCode()).isEqualTo(404);
    JsonArray pools = json(r).getJsonObject("detail").getJsonArray("availablePools");
    assertThat(pools.stream().map(p -> ((JsonObject) p).getString("name"))).contains("demo");
  }

  @Test
  void unknownSandboxIs404() throws Exception {
    assertThat(call("GET", "/v1/sandboxes/doesnotexist1", null).statusCode()).isEqualTo(404);
    assertThat(call("DELETE", "/v1/sandboxes/doesnotexist1", null).statusCode()).isEqualTo(404);
    assertThat(call("GET", "/v1/sandboxes/Bad-Id", null).statusCode()).isEqualTo(400);
  }

  @Test
  void badInputIs400AndClaimsNothing() throws Exception {
    long before = idle("demo");
    String[] bad = {
      "{\"poolName\":\"demo\",\"bogus\":1}",
      "{\"poolName\":5}",
      "{\"poolName\":\"demo\",\"idleTimeout\":\"5 minutes\"}",
      "{\"poolName\":\"demo\",\"idleTimeout\":-3}",
      "{\"poolName\":\"demo\",\"startupTimeout\":\"2h\"}",
      // timeouts are kept in whole seconds: "500ms" must not become 0, which means none
      "{\"poolName\":\"demo\",\"idleTimeout\":\"500ms\"}",
      "{\"poolName\":\"demo\",\"startupTimeout\":\"1.5s\"}",
      "{\"poolName\":\"demo\",\"idleTimeout\":\"1.5ns\"}",
      "{\"poolName\":\"demo\",\"idleTimeout\":\"99999999999999999999h\"}",
      "{\"poolName\":\"demo\",\"idleTimeout\":\"99999999999999999999\"}",
      "{\"poolName\":\"Demo_Pool\"}",
      "{\"poolName\":\"demo\",\"namespace\":\"-x\"}",
      "{\"poolName\":\"demo\",\"image\":\"has space\"}",
      "{\"poolName\":\"demo\",\"labels\":{\"agentbox.navix.sh/sandbox-id\":\"x\"}}",
      "{\"poolName\":\"demo\",\"labels\":{\"ok\":\"not a label value!\"}}",
      "{\"poolName\":\"demo\",\"containerImages\":{\"nosuchcontainer\":\"img:1\"}}",
      "{\"poolName\":\"demo\",\"waitTimeoutSeconds\":-1}",
      "{\"poolName\":\"demo\",\"waitForRunning\":\"yes\"}",
      "{\"poolName\":\"demo\",\"postStartHooks\":[{}]}",
      "[1,2]",
      "not json",
      "{\"poolName\":\"demo\",\"metadata\":{\"k\":\"" + "x".repeat(300_000) + "\"}}",
    };
    for (String body : bad) {
      HttpResponse<String> r = call("POST", "/v1/sandboxes", body);
      assertThat(r.statusCode()).as(body.length() > 100 ? "oversized body" : body).isEqualTo(400);
      assertThat(json(r).getString("error")).as(body.length() > 100 ? "oversized body" : body).isNotBlank();
    }
    assertThat(call("POST", "/v1/sandboxes", "").statusCode()).isEqualTo(400);
    assertThat(call("GET", "/v1/sandboxes?limit=0", null).statusCode()).isEqualTo(400);
    assertThat(call("GET", "/v1/sandboxes?status=Sleeping", null).statusCode()).isEqualTo(400);
    for (String body : new String[] {"{\"timeout\":\"soon\"}", "{\"timeout\":\"500ms\"}", "{\"timeout\":\"1.5ns\"}",
        "{\"timeout\":\"99999999999999999999h\"}", "[]", "5", "\"x\"", "null", "{}", "{\"timeout\":60,\"extra\":1}", "not json"}) {
      HttpResponse<String> r = call("PUT", "/v1/sandboxes/abc/timeout", body);
      assertThat(r.statusCode()).as("PUT /timeout " + body).isEqualTo(400);
      assertThat(json(r).getString("error")).as("PUT /timeout " + body).isNotBlank();
    }
    assertThat(idle("demo")).as("no pod was claimed by bad requests").isEqualTo(before);
    assertThat(admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "demo").list().getItems().stream()
        .filter(p -> Pods.inPhase(p, sh.navix.agentbox.api.crd.SandboxPhase.STARTING)).count()).isZero();
  }

  @Test
  void listShowsLiveAndEndedSandboxesWithATotal() throws Exception {
    pool("listed", 2);
    String a = json(call("POST", "/v1/sandboxes", "{\"poolName\":\"listed\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true}"))
        .getJsonObject("sandbox").getString("sandboxId");
    String b = json(call("POST", "/v1/sandboxes", "{\"poolName\":\"listed\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true}"))
        .getJsonObject("sandbox").getString("sandboxId");
    call("DELETE", "/v1/sandboxes/" + a, null);
    await("a completed", Duration.ofSeconds(30), () -> {
      try {
        return "Completed".equals(json(call("GET", "/v1/sandboxes/" + a, null)).getJsonObject("sandbox").getString("status")) ? true : null;
      } catch (Exception e) {
        return null;
      }
    });
    JsonObject all = json(call("GET", "/v1/sandboxes?poolName=listed", null));
    assertThat(all.getInteger("total")).isEqualTo(2);
    assertThat(all.getJsonArray("sandboxes").stream().map(x -> ((JsonObject) x).getString("sandboxId"))).containsExactly(b, a);
    JsonObject running = json(call("GET", "/v1/sandboxes?poolName=listed&status=Running", null));
    assertThat(running.getInteger("total")).isEqualTo(1);
    JsonObject ended = json(call("GET", "/v1/sandboxes?poolName=listed&status=Completed,Failed&limit=1", null));
    assertThat(ended.getJsonArray("sandboxes").getJsonObject(0).getString("sandboxId")).isEqualTo(a);

    JsonObject pools = json(call("GET", "/v1/sandboxpools", null));
    assertThat(pools.getJsonArray("sandboxPools").stream().map(x -> ((JsonObject) x).getString("name"))).contains("demo", "listed");
    JsonObject listed = json(call("GET", "/v1/sandboxpools/listed", null)).getJsonObject("sandboxPool");
    assertThat(listed.getJsonObject("live").getInteger("running")).isEqualTo(1);
    assertThat(json(call("GET", "/v1/templates", null)).getJsonArray("templates").getJsonObject(0).getString("name")).isEqualTo("demo");
    assertThat(call("GET", "/v1/sandboxpools/nosuchpool", null).statusCode()).isEqualTo(404);
    call("DELETE", "/v1/sandboxes/" + b, null);
  }

  @Test
  void timeoutCanBeChangedOnARunningSandbox() throws Exception {
    pool("timed", 1);
    String id = json(call("POST", "/v1/sandboxes", "{\"poolName\":\"timed\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true}"))
        .getJsonObject("sandbox").getString("sandboxId");
    assertThat(call("PUT", "/v1/sandboxes/" + id + "/timeout", "{\"timeout\":\"45m\"}").statusCode()).isEqualTo(204);
    Pod p = admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, id).list().getItems().get(0);
    assertThat(Pods.annotation(p, "agentbox.navix.sh/idle-timeout")).isEqualTo("2700");
    assertThat(call("PUT", "/v1/sandboxes/nosuchsandbox/timeout", "{\"timeout\":60}").statusCode()).isEqualTo(404);
    call("DELETE", "/v1/sandboxes/" + id, null);
  }

  @Test
  void deletingAStartingSandboxCancelsItAndRecyclesThePod() throws Exception {
    pool("cancel", 1);
    JsonObject s = json(call("POST", "/v1/sandboxes", "{\"poolName\":\"cancel\",\"image\":\"example/slow-pull:1\"}")).getJsonObject("sandbox");
    assertThat(s.getString("status")).isEqualTo("Starting");
    JsonObject starting = json(call("GET", "/v1/sandboxes/" + s.getString("sandboxId"), null)).getJsonObject("sandbox");
    assertThat(starting.getJsonObject("statusDetail").getString("reason")).isNotBlank();
    assertThat(call("DELETE", "/v1/sandboxes/" + s.getString("sandboxId"), null).statusCode()).isEqualTo(202);
    JsonObject ended = await("Canceled in history", Duration.ofSeconds(30), () -> {
      try {
        JsonObject b = json(call("GET", "/v1/sandboxes/" + s.getString("sandboxId"), null)).getJsonObject("sandbox");
        return "Canceled".equals(b.getString("status")) ? b : null;
      } catch (Exception e) {
        return null;
      }
    });
    assertThat(ended.getString("startedAt")).isNull();
    assertThat(ended.containsKey("durationSeconds")).as("no duration for a sandbox that never ran").isFalse();
    await("pod idle again", Duration.ofSeconds(30), () -> idle("cancel") == 1 ? true : null);
  }

  @Test
  void aSandboxThatCannotStartFailsWaitForRunningWith422() throws Exception {
    pool("broken", 1);
    HttpResponse<String> r = call("POST", "/v1/sandboxes", "{\"poolName\":\"broken\",\"image\":\"example/fail-pull:1\",\"waitForRunning\":true}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
    assertThat(json(r).getString("error")).contains("ImagePullBackOff");
    assertThat(json(r).getJsonObject("detail").getJsonObject("sandbox").getString("status")).isEqualTo("Failed");
  }

  /**
   * Two replicas claimed the same sandbox at once (the same Idempotency-Key): the leader keeps it on
   * the pod claimed first and recycles the other. A create waiting for Running whose own claim was
   * the one recycled answers with the sandbox running on the pod that kept it, not 504 once its
   * startup timeout has run out.
   */
  @Test
  void aWaitForRunningCreateFollowsItsSandboxToThePodThatKeptIt() throws Exception {
    pool("dup", 2);
    var create = CompletableFuture.supplyAsync(() -> {
      try {
        return call("POST", "/v1/sandboxes", "{\"poolName\":\"dup\",\"image\":\"agentbox/slow-pull:dev\",\"startupTimeout\":\"20s\","
            + "\"waitForRunning\":true}");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    List<Pod> dup = await("the create's pod starting", Duration.ofSeconds(20), () -> {
      var pods = admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "dup").list().getItems();
      return pods.stream().anyMatch(p -> Pods.inPhase(p, sh.navix.agentbox.api.crd.SandboxPhase.STARTING)) ? pods : null;
    });
    String id = dup.stream().map(Pods::sandboxId).filter(java.util.Objects::nonNull).findFirst().orElseThrow();
    var other = dup.stream().filter(p -> Pods.sandboxId(p) == null).findFirst().orElseThrow();
    // The other replica's claim of the same sandbox, made a moment before this one's: it keeps the
    // sandbox, which starts there only once this create's pod has been recycled (its image, slow
    // to pull, is then swapped for a quick one).
    admin.pods().inNamespace("default").resource(sh.navix.agentbox.api.lifecycle.PodTransitions.claim(other,
        new sh.navix.agentbox.api.lifecycle.PodTransitions.ClaimSpec(id, Map.of("sandbox", "agentbox/slow-pull:dev"), null, null, null,
            Duration.ofMinutes(2), null, null, null, null, Instant.now().minusSeconds(10)))).update();
    String recycled = dup.stream().filter(p -> id.equals(Pods.sandboxId(p))).map(Pods::name).findFirst().orElseThrow();
    await("the create's own pod recycled", Duration.ofSeconds(20), () -> {
      Pod p = admin.pods().inNamespace("default").withName(recycled).get();
      return p != null && Pods.sandboxId(p) == null && Pods.inPhase(p, sh.navix.agentbox.api.crd.SandboxPhase.IDLE) ? true : null;
    });
    admin.pods().inNamespace("default").withName(Pods.name(other)).patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON),
        "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"agentbox/sandbox:dev\"}]");

    HttpResponse<String> r = create.get(40, TimeUnit.SECONDS);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    JsonObject sandbox = json(r).getJsonObject("sandbox");
    assertThat(sandbox.getString("sandboxId")).isEqualTo(id);
    assertThat(sandbox.getString("status")).isEqualTo("Running");
    assertThat(sandbox.getString("podName")).as("the pod that kept the sandbox").isEqualTo(Pods.name(other));
  }

  /** What a user sees of post-start hooks: when one fails, a Failed sandbox that says which and why. */
  @Test
  void aFailingPostStartHookEndsTheSandboxAsFailed() throws Exception {
    pool("hooked", 1);
    HttpResponse<String> r = call("POST", "/v1/sandboxes", "{\"poolName\":\"hooked\",\"postStartHooks\":["
        + "{\"exec\":{\"command\":\"echo hello\"}},{\"exec\":{\"command\":\"exit 7\"}}]}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    String id = json(r).getJsonObject("sandbox").getString("sandboxId");

    JsonObject failed = await("the sandbox failed", Duration.ofSeconds(30), () -> {
      try {
        JsonObject s = json(call("GET", "/v1/sandboxes/" + id, null)).getJsonObject("sandbox");
        return "Failed".equals(s.getString("status")) ? s : null;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    assertThat(failed.getString("failureReason")).isEqualTo("PostStartHookFailed");
    // The first hook passed: the second is the one named.
    assertThat(failed.getString("failureMessage")).isEqualTo("postStartHooks[1] (exec exit 7) failed: exited with code 7");
  }
}
