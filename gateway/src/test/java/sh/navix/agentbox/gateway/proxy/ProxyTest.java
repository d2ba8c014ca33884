package sh.navix.agentbox.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.gateway.Gateway;
import sh.navix.agentbox.gateway.GatewayOptions;

/** The built-in proxy in dev mode: the three routing forms, errors, WebSocket echo, and activity that keeps a sandbox alive. */
class ProxyTest {
  @TempDir static Path home;
  static Gateway gateway;
  static int proxyPort;
  static Vertx client;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(3);
  static final Duration POD_KEEPALIVE = Duration.ofSeconds(1);

  @BeforeAll
  static void boot() throws Exception {
    GatewayOptions o = GatewayOptions.parse(List.of("dev", "--api-port", "0", "--dev-api-port", "0", "--proxy-port", "0", "--grpc-port", "0", "--home", home.toString(),
        "--dev-pull-delay", "100ms", "--proxy-idle-timeout", IDLE_TIMEOUT.toMillis() + "ms", "--proxy-pod-keepalive", POD_KEEPALIVE.toMillis() + "ms"), Map.of());
    gateway = Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Await.until("proxy bound", Duration.ofSeconds(30), () -> gateway.proxyPort() > 0 ? true : null);
    proxyPort = gateway.proxyPort();
    client = Vertx.vertx();
    Await.until("demo pool warm", Duration.ofSeconds(30), () -> gateway.dev().cluster().client().pods().inNamespace("default")
        .withLabel(Labels.SANDBOX_POOL, "demo").list().getItems().stream().filter(Pods::claimable).count() == 3 ? true : null);
  }

  @AfterAll
  static void stop() throws Exception {
    client.close().await(10, TimeUnit.SECONDS);
    gateway.stop().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static String create(String extra) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"poolName\":\"demo\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true" + extra + "}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return new JsonObject(r.body()).getJsonObject("sandbox").getString("sandboxId");
  }

  static void release(String id) throws Exception {
    HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes/" + id)).DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A response as the test sees it. */
  record Reply(int statusCode, String body, String headers) {
    /** The body as JSON; a body that is not says what it was. */
    JsonObject json() {
      try {
        return new JsonObject(body);
      } catch (io.vertx.core.json.DecodeException e) {
        throw new AssertionError("not JSON (" + statusCode + ", headers " + headers + "): [" + body + "]", e);
      }
    }
  }

  /** GET through the proxy with any headers, Host included (the JDK client refuses to set Host). */
  static Reply get(String path, String... headers) throws Exception {
    io.vertx.core.http.RequestOptions o = new io.vertx.core.http.RequestOptions()
        .setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(proxyPort, "127.0.0.1"))
        .setHost("127.0.0.1").setPort(proxyPort).setURI(path).setTimeout(10_000);
    for (int i = 0; i + 1 < headers.length; i += 2) {
      if (headers[i].equalsIgnoreCase("host")) {
        String[] hp = headers[i + 1].split(":");
        o.setHost(hp[0]).setPort(hp.length > 1 ? Integer.parseInt(hp[1]) : proxyPort);
      } else {
        o.putHeader(headers[i], headers[i + 1]);
      }
    }
    var http = client.createHttpClient();
    try {
      // The body is asked for in the send's own callback (Vert.x's documented form): asked for a
      // step later, a body that came in the same read as the head can be missed (eclipse-vertx/vert.x#5904).
      return http.request(o).compose(req -> req.send().compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(), b.toString(),
          resp.headers().toString().replace("\n", "; "))))).await(15, TimeUnit.SECONDS);
    } finally {
      http.close();
    }
  }

  static String podIp(String sandboxId) {
    return gateway.dev().cluster().client().pods().inNamespace("default").withLabel("agentbox.navix.sh/sandbox-id", sandboxId).list().getItems()
        .get(0).getStatus().getPodIP();
  }

  static String phase(String sandboxId) {
    var pods = gateway.dev().cluster().client().pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, sandboxId).list().getItems();
    return pods.isEmpty() ? "gone" : Pods.phase(pods.get(0)).map(Object::toString).orElse("none");
  }

  /**
   * Every answer goes to the request it answers: 24 clients at a time on pod connections the proxy
   * pools and reuses, GETs and POSTs with bodies of any size, while one sandbox is released and
   * another claimed on a recycled pod. Each request carries a number the pod echoes back (with the
   * length of the body it got): an answer with another request's number fails.
   */
  @Test
  void everyAnswerGoesToItsOwnRequestUnderConcurrentLoadWhilePodsRecycle() throws Exception {
    String kept = create("");
    String[] other = {create("")};
    String released = other[0];
    java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(24);
    List<CompletableFuture<String>> problems = new java.util.ArrayList<>();
    java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
    java.util.Random random = new java.util.Random(6);
    for (int i = 0; i < 600; i++) {
      if (i == 200) {
        release(released);
      } else if (i == 300) {
        other[0] = create("");
      }
      String id = i % 2 == 0 ? kept : other[0];
      String body = i % 3 == 0 ? "" : "b".repeat(random.nextInt(20_000));
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/sandboxes/" + id + "/8080/echo?n=" + i));
      HttpRequest request = (body.isEmpty() ? b.GET() : b.POST(HttpRequest.BodyPublishers.ofString(body))).build();
      int n = i;
      slots.acquire();
      problems.add(HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()).handle((r, e) -> {
        slots.release();
        if (e != null) {
          return "request " + n + " to " + id + " failed: " + e;
        }
        if (r.statusCode() != 200) {
          // Only the sandbox being released may answer otherwise, and then as a JSON error about it.
          return id.equals(released) && List.of(404, 502, 503).contains(r.statusCode()) && r.body().contains(id) ? null
              : "request " + n + " to " + id + ": " + r.statusCode() + " " + r.body();
        }
        answered.incrementAndGet();
        JsonObject echo = new JsonObject(r.body());
        String length = echo.getJsonObject("headers").getString("content-length", "0");
        return ("n=" + n).equals(echo.getString("query")) && Integer.parseInt(length) == body.length() ? null
            : "request " + n + " (body " + body.length() + ") got the answer to: " + r.body();
      }).toCompletableFuture());
    }
    List<String> found = new java.util.ArrayList<>();
    for (CompletableFuture<String> p : problems) {
      String problem = p.get(30, TimeUnit.SECONDS);
      if (problem != null) {
        found.add(problem);
      }
    }
    assertThat(found).isEmpty();
    assertThat(answered.get()).as("answers with a 200").isGreaterThan(450);
    release(kept);
    release(other[0]);
  }

  @Test
  void hostHeaderAndPathFormsReachTheSandbox() throws Exception {
    String id = create("");
    Reply byHost = get("/whoami", "Host", "8080-" + id + ".sandbox.localhost");
    assertThat(byHost.statusCode()).as(byHost.body()).isEqualTo(200);
    String pod = byHost.json().getString("pod");
    assertThat(byHost.json().getString("image")).isEqualTo("agentbox/sandbox:dev");

    Reply byPath = get("/sandboxes/" + id + "/8080/whoami");
    assertThat(byPath.json().getString("pod")).isEqualTo(pod);
    Reply byHeader = get("/whoami", "x-sandbox-id", id);
    assertThat(byHeader.json().getString("pod")).isEqualTo(pod);

    // The echo endpoint shows what the pod received: the stripped path and the forwarding headers.
    Reply echoed = get("/sandboxes/" + id + "/8080/some/path?q=1", "x-gateway-destination-endpoint", "10.0.0.1:1");
    JsonObject echo = echoed.json();
    assertThat(echo.getString("path")).isEqualTo("/some/path");
    assertThat(echo.encode()).contains("x-forwarded-for").contains("x-forwarded-proto").doesNotContain("10.0.0.1:1");
    release(id);
  }

  @Test
  void requestAndResponseBodiesPassThrough() throws Exception {
    String id = create("");
    String big = "x".repeat(2 * 1024 * 1024) + "end";
    HttpResponse<String> put = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/sandboxes/" + id + "/8080/state/blob"))
        .PUT(HttpRequest.BodyPublishers.ofString(big)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(put.statusCode()).isBetween(200, 204);
    HttpResponse<String> back = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/sandboxes/" + id + "/8080/state/blob"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(back.statusCode()).isEqualTo(200);
    assertThat(back.body()).hasSize(big.length()).endsWith("end");

    // A body of unknown length arrives chunked and is streamed on chunked.
    byte[] streamed = ("chunk-".repeat(100_000) + "last").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    HttpResponse<String> chunked = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/sandboxes/" + id + "/8080/state/stream"))
        .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(streamed))).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(chunked.statusCode()).isBetween(200, 204);
    assertThat(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/sandboxes/" + id + "/8080/state/stream")).build(),
        HttpResponse.BodyHandlers.ofString()).body()).hasSize(streamed.length).endsWith("last");
    release(id);
  }

  @Test
  void errorsAreJson() throws Exception {
    Reply unknown = get("/", "Host", "8080-nosuchsandbox.sandbox.localhost");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(unknown.json().getString("error")).contains("not found");
    assertThat(get("/", "Host", "localhost").statusCode()).isEqualTo(404);
    String id = create("");
    Reply badPort = get("/", "Host", "9999-" + id + ".sandbox.localhost");
    assertThat(badPort.statusCode()).isEqualTo(403);
    release(id);
  }

  @Test
  void webSocketEchoThroughTheProxy() throws Exception {
    String id = create("");
    WebSocketClient ws = client.createWebSocketClient();
    WebSocket socket = ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(proxyPort).setURI("/ws/echo")
        .addHeader("x-sandbox-id", id)).await(10, TimeUnit.SECONDS);
    CompletableFuture<String> echoed = new CompletableFuture<>();
    socket.textMessageHandler(echoed::complete);
    socket.writeTextMessage("hello sandbox").await(5, TimeUnit.SECONDS);
    assertThat(echoed.get(5, TimeUnit.SECONDS)).isEqualTo("hello sandbox");
    assertThat(gateway.activity().openTunnels(id)).isEqualTo(1);
    socket.close().await(5, TimeUnit.SECONDS);
    Await.until("tunnel closed", Duration.ofSeconds(5), () -> gateway.activity().openTunnels(id) == 0 ? true : null);
    ws.close();
    release(id);
  }

  /**
   * What a client sends right behind its upgrade request, before the 101 came back (a first
   * frame), reaches the pod once it has switched; behind an upgrade the pod refused, it is the next
   * request.
   */
  @Test
  void bytesBehindAnUpgradeRequestAreTheTunnelsFirstOrTheNextRequest() throws Exception {
    String id = create("");
    String upgrade = "GET /ws/echo HTTP/1.1\r\nHost: 8080-" + id + ".sandbox.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    byte[] frame = {(byte) 0x81, (byte) 0x82, 1, 2, 3, 4, (byte) ('h' ^ 1), (byte) ('i' ^ 2)}; // "hi", masked as a client must
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(15_000);
      java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
      request.write(upgrade.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      request.write(frame);
      s.getOutputStream().write(request.toByteArray()); // one write: the frame comes in the same read as the request
      java.io.InputStream in = s.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        head.append((char) in.read());
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 101");
      assertThat(in.readNBytes(4)).as("the pod's echo of the early frame").containsExactly(0x81, 0x02, 'h', 'i');
    }
    String refused = raw(upgrade.replace("/ws/echo", "/ws/nope") + "GET /health HTTP/1.1\r\nHost: 8080-" + id
        + ".sandbox.localhost\r\nConnection: close\r\n\r\n");
    String[] responses = refused.split("(?=HTTP/1\\.1 )");
    assertThat(responses).hasSize(2);
    assertThat(responses[0]).startsWith("HTTP/1.1 404");
    assertThat(responses[1]).startsWith("HTTP/1.1 200").endsWith("{\"status\":\"ok\"}");
    release(id);
  }

  @Test
  void anOpenWebSocketKeepsItsSandboxAliveAndAnIdleSandboxTimesOut() throws Exception {
    String kept = create(",\"idleTimeout\":3");
    String idle = create(",\"idleTimeout\":3");
    WebSocketClient ws = client.createWebSocketClient();
    WebSocket socket = ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(proxyPort).setURI("/ws/echo")
        .addHeader("x-sandbox-id", kept)).await(10, TimeUnit.SECONDS);
    Instant opened = Instant.now();
    // idle timeout 3 s + flush lag 1 s: the idle sandbox goes, the one with a tunnel stays.
    Await.until("idle sandbox released", Duration.ofSeconds(20), () -> !phase(idle).equals("running") ? true : null);
    Await.until("8 s with the tunnel open", Duration.ofSeconds(15), () -> Instant.now().isAfter(opened.plusSeconds(8)) ? true : null);
    assertThat(phase(kept)).isEqualTo("running");
    socket.close().await(5, TimeUnit.SECONDS);
    Await.until("released once the tunnel closed", Duration.ofSeconds(20), () -> !phase(kept).equals("running") ? true : null);
    ws.close();
  }

  /**
   * A request in progress keeps its sandbox alive however long it takes (a blocking exec, a slow
   * upload); once it ends, the idle timeout runs again.
   */
  @Test
  void aRequestInProgressKeepsItsSandboxAlive() throws Exception {
    String kept = create(",\"idleTimeout\":3");
    String idle = create(",\"idleTimeout\":3");
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(15_000);
      var out = s.getOutputStream();
      out.write(("PUT /state/slow HTTP/1.1\r\nHost: localhost\r\nx-sandbox-id: " + kept + "\r\nx-sandbox-port: 8080\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      out.flush();
      Instant began = Instant.now();
      // idle timeout 3 s + flush lag 1 s: the idle sandbox goes, the one whose upload is still coming stays.
      Await.until("idle sandbox released", Duration.ofSeconds(20), () -> !phase(idle).equals("running") ? true : null);
      Await.until("8 s into the request", Duration.ofSeconds(15), () -> Instant.now().isAfter(began.plusSeconds(8)) ? true : null);
      assertThat(phase(kept)).isEqualTo("running");
      out.write("0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      out.flush();
      byte[] answer = new byte[12];
      int n = s.getInputStream().readNBytes(answer, 0, 12);
      assertThat(new String(answer, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 204");
    }
    Await.until("released once the request ended", Duration.ofSeconds(20), () -> !phase(kept).equals("running") ? true : null);
  }

  /**
   * A request that expects 100 Continue, pipelined behind another: its 100 comes after the first
   * request's response, never in the middle of the exchange before it, and its body is forwarded.
   */
  @Test
  void aPipelinedExpectContinueIsAnsweredInTurn() throws Exception {
    String id = create("");
    String host = "Host: 8080-" + id + ".sandbox.localhost\r\n";
    String answer = raw("GET /health HTTP/1.1\r\n" + host + "\r\n"
        + "POST /echo HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    List<String> statusLines = java.util.regex.Pattern.compile("HTTP/1\\.1 \\d{3} [A-Za-z ]+?\r\n").matcher(answer).results()
        .map(m -> m.group().trim()).toList();
    assertThat(statusLines).as(answer).containsExactly("HTTP/1.1 200 OK", "HTTP/1.1 100 Continue", "HTTP/1.1 200 OK");
    // The pod's echo of the second request: its body arrived whole.
    assertThat(answer.substring(answer.lastIndexOf("HTTP/1.1 200"))).contains("\"method\":\"POST\"").contains("\"content-length\":\"5\"");
    release(id);
  }

  /**
   * A request that waits for 100 Continue before sending its body, and cannot be routed: it gets
   * its error at once, no 100 (so it never sends the body), and the connection is closed (the
   * body it held back cannot be told from a next request).
   */
  @Test
  void anExpectContinueThatCannotBeRoutedGetsItsErrorWithoutA100() throws Exception {
    String answer = raw("PUT /state/x HTTP/1.1\r\nHost: 8080-nosuchsandbox.sandbox.localhost\r\nExpect: 100-continue\r\n"
        + "Content-Length: 5\r\n\r\n");
    assertThat(answer).startsWith("HTTP/1.1 404").doesNotContain("100 Continue");
    // A client that stops waiting and sends its body anyway still reads the whole answer.
    assertThat(raw("PUT /state/x HTTP/1.1\r\nHost: 8080-nosuchsandbox.sandbox.localhost\r\nExpect: something-else\r\n"
        + "Content-Length: 5\r\n\r\nhello")).startsWith("HTTP/1.1 417").endsWith("}").contains("unsupported Expect");
  }

  /** Raw bytes to the proxy over one connection; everything it answers until it closes the connection. */
  static String raw(String request) throws Exception {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(15_000);
      s.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
    }
  }

  static double upstreamConnects() throws Exception {
    String metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    return metrics.lines().filter(l -> l.startsWith("agentbox_proxy_upstream_connects_total")).mapToDouble(l -> Double.parseDouble(l.split(" ")[1]))
        .findFirst().orElseThrow();
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrderOnOneKeptAlivePodConnection() throws Exception {
    String id = create("");
    String host = "Host: 8080-" + id + ".sandbox.localhost\r\n";
    double before = upstreamConnects();
    String out = raw("GET /whoami HTTP/1.1\r\n" + host + "\r\n"
        + "GET /sandboxes/" + id + "/8080/second?n=2 HTTP/1.1\r\nHost: localhost\r\n\r\n"
        + "GET /health HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
    String[] responses = out.split("(?=HTTP/1\\.1 )");
    assertThat(responses).hasSize(3);
    assertThat(responses[0]).startsWith("HTTP/1.1 200").contains("\"pod\"");
    assertThat(responses[1]).startsWith("HTTP/1.1 200").contains("\"path\":\"/second\"").contains("\"query\":\"n=2\"");
    assertThat(responses[2]).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close").endsWith("{\"status\":\"ok\"}");
    assertThat(upstreamConnects() - before).as("pod connections opened for three requests").isLessThanOrEqualTo(1);
    release(id);
  }

  @Test
  void aRejectedRequestsBodyIsDroppedAndTheConnectionServesTheNextRequest() throws Exception {
    String id = create("");
    String out = raw("POST /x HTTP/1.1\r\nHost: 8080-nosuchsandbox.sandbox.localhost\r\nContent-Length: 11\r\n\r\nhello world"
        + "GET /health HTTP/1.1\r\nHost: 8080-" + id + ".sandbox.localhost\r\nConnection: close\r\n\r\n");
    String[] responses = out.split("(?=HTTP/1\\.1 )");
    assertThat(responses).hasSize(2);
    assertThat(responses[0]).startsWith("HTTP/1.1 404").contains("application/json").contains("not found");
    assertThat(responses[1]).startsWith("HTTP/1.1 200").endsWith("{\"status\":\"ok\"}");
    release(id);
  }

  @Test
  void http10HeadAndMalformedRequests() throws Exception {
    String id = create("");
    String host = "Host: 8080-" + id + ".sandbox.localhost\r\n";
    // HTTP/1.0 without keep-alive: answered as 1.0, then the proxy closes (raw() returns only then).
    String old = raw("GET /health HTTP/1.0\r\n" + host + "\r\n");
    assertThat(old).startsWith("HTTP/1.0 200").endsWith("{\"status\":\"ok\"}");
    // HEAD: the pod's headers, no body (and no chunked framing made up for it).
    String head = raw("HEAD /whoami HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
    assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("content-type: application/json")
        .doesNotContainIgnoringCase("transfer-encoding").endsWith("\r\n\r\n");
    // Without a Host: routed by its path in HTTP/1.0, which has none to send; refused in HTTP/1.1,
    // which must send one (RFC 9112 §3.2).
    assertThat(raw("GET /sandboxes/" + id + "/8080/health HTTP/1.0\r\n\r\n")).startsWith("HTTP/1.0 200").endsWith("{\"status\":\"ok\"}");
    assertThat(raw("GET /sandboxes/" + id + "/8080/health HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 400").contains("application/json")
        .contains("HTTP/1.1 request without a Host header");
    // Not HTTP: a JSON 400 and the connection closed.
    String garbage = raw("this is not http\r\n\r\n");
    assertThat(garbage).startsWith("HTTP/1.1 400").contains("application/json").contains("malformed request");
    // Headers beyond the limit: 431.
    String huge = raw("GET / HTTP/1.1\r\n" + host + "x-big: " + "a".repeat(20_000) + "\r\n\r\n");
    assertThat(huge).startsWith("HTTP/1.1 431");
    // A request line beyond the limit: 414; a version this proxy does not speak: 505.
    assertThat(raw("GET /" + "a".repeat(9_000) + " HTTP/1.1\r\n" + host + "\r\n")).startsWith("HTTP/1.1 414");
    assertThat(raw("GET / HTTP/2.0\r\n" + host + "\r\n")).startsWith("HTTP/1.1 505").contains("HTTP version 2.0 not supported");
    release(id);
  }

  /**
   * Framing cannot be taken apart: a Connection header naming Content-Length does not strip it
   * (the body would reach the pod as a second request), and a malformed chunked body never reaches
   * the pod as a complete request (400, connection closed).
   */
  @Test
  void aRequestsBodyNeverBecomesAnotherRequestOnThePodConnection() throws Exception {
    String id = create("");
    String inner = "PUT /state/smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nbad";
    String out = raw("POST /sandboxes/" + id + "/8080/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + inner.length()
        + "\r\nConnection: content-length, close\r\n\r\n" + inner);
    assertThat(out).startsWith("HTTP/1.1 200");
    JsonObject seen = new JsonObject(out.substring(out.indexOf("\r\n\r\n") + 4));
    assertThat(seen.getJsonObject("headers").getString("content-length")).isEqualTo(Integer.toString(inner.length()));

    String chunked = raw("PUT /sandboxes/" + id + "/8080/state/truncated HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\nzz\r\n");
    assertThat(chunked).startsWith("HTTP/1.1 400").contains("malformed request");

    // Content-Length and Transfer-Encoding together: read one way by a proxy and the other by a
    // server, they are how requests get smuggled. Refused, and nothing reaches the pod.
    String both = raw("PUT /sandboxes/" + id + "/8080/state/both HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assertThat(both).startsWith("HTTP/1.1 400").contains("both Content-Length and Transfer-Encoding");

    String pod = "http://" + podIp(id) + ":8080";
    for (String key : new String[] {"smuggled", "truncated", "both"}) {
      HttpResponse<String> state = HTTP.send(HttpRequest.newBuilder(URI.create(pod + "/state/" + key)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(state.statusCode()).as("the pod's state " + key).isEqualTo(404);
    }
    release(id);
  }

  @Test
  void hopByHopHeadersStayOnTheirHop() throws Exception {
    String id = create("");
    String out = raw("GET /sandboxes/" + id + "/8080/echo HTTP/1.1\r\nHost: localhost\r\nConnection: x-hop, close\r\nx-hop: secret\r\n"
        + "Proxy-Authorization: Basic abc\r\nTE: trailers\r\nx-kept: yes\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\n"
        + "X-Forwarded-Proto: https\r\n\r\n");
    assertThat(out).startsWith("HTTP/1.1 200");
    JsonObject seen = new JsonObject(out.substring(out.indexOf("\r\n\r\n") + 4)).getJsonObject("headers");
    assertThat(seen.getString("x-kept")).isEqualTo("yes");
    assertThat(seen.getString("x-forwarded-for")).as("every hop the request came through, then this client").isEqualTo("10.0.0.1, 10.0.0.2, 127.0.0.1");
    assertThat(seen.getString("x-forwarded-proto")).isEqualTo("http");
    assertThat(seen.fieldNames()).doesNotContain("x-hop", "proxy-authorization", "te");
    assertThat(seen.getString("x-forwarded-host")).isEqualTo("localhost");
    assertThat(seen.getString("x-forwarded-port")).isEqualTo(Integer.toString(proxyPort));
    release(id);
  }

  @Test
  void anIdempotentRequestOnAKeptAliveConnectionThePodClosedIsResentOnANewOne() throws Exception {
    try (ForgetfulPod pod = new ForgetfulPod()) {
      var admin = gateway.dev().cluster().client();
      var pool = podOnPort("forgetful", pod.port());
      String id = pool.sandboxId();
      var retries = gateway.registry().find("agentbox_proxy_upstream_retries_total").counter();
      double before = retries.count();

      // Two requests on one client connection (so one event loop, one pod connection pool): the
      // second reuses the pod connection the first kept alive, which the pod then closes.
      String host = "Host: " + pod.port() + "-" + id + ".sandbox.localhost\r\n";
      String out = raw("GET /a HTTP/1.1\r\n" + host + "\r\nGET /b HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
      String[] responses = out.split("(?=HTTP/1\\.1 )");
      assertThat(responses).hasSize(2);
      assertThat(responses[0]).startsWith("HTTP/1.1 200").endsWith("answer-1");
      assertThat(responses[1]).as("resent on a second connection").startsWith("HTTP/1.1 200").endsWith("answer-2");
      assertThat(retries.count() - before).isEqualTo(1);
      release(id);
      admin.resource(pool.pool()).delete();
    }
  }

  /** A pool whose sandboxes are served by a test server on {@code port}, and a running sandbox of it. */
  record RawPool(sh.navix.agentbox.api.crd.SandboxPool pool, String sandboxId) {}

  static RawPool podOnPort(String name, int port) throws Exception {
    var admin = gateway.dev().cluster().client();
    // The pool's runtime port is the test server's, with no container ports: the simulated node
    // starts nothing there, so connections to <pod IP>:<port> reach the server's wildcard listener.
    var pool = new sh.navix.agentbox.api.crd.SandboxPool();
    pool.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace("default").build());
    var spec = new sh.navix.agentbox.api.crd.SandboxPoolSpec();
    spec.setReplicas(1);
    spec.setIdleImage("agentbox/idle:dev");
    var runtime = new sh.navix.agentbox.api.crd.SandboxRuntimeSpec();
    runtime.setName("http");
    runtime.setPort(port);
    spec.setRuntimes(List.of(runtime));
    spec.setTemplate(new io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder().withNewSpec().addNewContainer().withName("sandbox")
        .withImage("agentbox/sandbox:dev").endContainer().endSpec().build());
    pool.setSpec(spec);
    admin.resource(pool).create();
    Await.until(name + " pool warm", Duration.ofSeconds(30), () -> admin.pods().inNamespace("default")
        .withLabel(Labels.SANDBOX_POOL, name).list().getItems().stream().filter(Pods::claimable).count() == 1 ? true : null);
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"poolName\":\"" + name + "\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true}"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return new RawPool(pool, new JsonObject(r.body()).getJsonObject("sandbox").getString("sandboxId"));
  }

  /** A test server on every address (so on each sandbox pod's IP) that serves each connection on a thread of its own. */
  abstract static class RawPod implements AutoCloseable {
    final java.net.ServerSocket socket;
    final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
    final String name;

    RawPod(String name) throws java.io.IOException {
      this.name = name;
      socket = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("0.0.0.0"));
    }

    /** Starts accepting: the last thing a subclass's constructor does. */
    void start() {
      Thread acceptor = new Thread(() -> {
        while (!socket.isClosed()) {
          try {
            java.net.Socket c = socket.accept();
            int n = connections.incrementAndGet();
            Thread t = new Thread(() -> serve(c, n), name + "-" + n);
            t.setDaemon(true);
            t.start();
          } catch (java.io.IOException closed) {
            return;
          }
        }
      }, name);
      acceptor.setDaemon(true);
      acceptor.start();
    }

    /** Serves connection number {@code n} (from 1), closing it when done. */
    abstract void serve(java.net.Socket c, int n);

    int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws java.io.IOException {
      socket.close();
    }
  }

  /**
   * A pod that answers the first request on each connection and closes the connection when the
   * second one arrives, unanswered: what a pod's keep-alive timeout looks like when it strikes just
   * as the proxy reuses the connection.
   */
  static final class ForgetfulPod extends RawPod {
    ForgetfulPod() throws java.io.IOException {
      super("forgetful-pod");
      start();
    }

    @Override
    void serve(java.net.Socket c, int n) {
      try (c) {
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(c.getInputStream(), java.nio.charset.StandardCharsets.ISO_8859_1));
        readHead(in);
        String body = "answer-" + n;
        c.getOutputStream().write(("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: " + body.length() + "\r\n\r\n" + body)
            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        c.getOutputStream().flush();
        readHead(in); // the second request: closed without an answer
      } catch (java.io.IOException gone) {
        // the proxy closed it: fine
      }
    }

    private static void readHead(java.io.BufferedReader in) throws java.io.IOException {
      String line;
      while ((line = in.readLine()) != null && !line.isEmpty()) {
        // request line and headers; these requests have no body
      }
    }
  }

  /** A pod that answers each request (by method and path) with bytes the test wrote, closing after those marked so. */
  static final class ScriptedPod extends RawPod {
    record Answer(String bytes, boolean close) {}

    final Map<String, Answer> script;

    ScriptedPod(Map<String, Answer> script) throws java.io.IOException {
      super("scripted-pod");
      this.script = script;
      start();
    }

    @Override
    void serve(java.net.Socket c, int n) {
      try (c) {
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(c.getInputStream(), java.nio.charset.StandardCharsets.ISO_8859_1));
        String requestLine;
        while ((requestLine = in.readLine()) != null) {
          String line;
          while ((line = in.readLine()) != null && !line.isEmpty()) {
            // headers; these requests have no body
          }
          String[] parts = requestLine.split(" ");
          Answer a = script.getOrDefault(parts[0] + " " + parts[1], new Answer("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", false));
          c.getOutputStream().write(a.bytes().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
          c.getOutputStream().flush();
          if (a.close()) {
            return;
          }
        }
      } catch (java.io.IOException gone) {
        // the proxy closed it: fine
      }
    }
  }

  static final String PLAIN = "HTTP/1.1 200 OK\r\nX-Custom:  kept as sent \r\nContent-Length: 5\r\n\r\nhello";
  static final String CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n";

  @Test
  void podResponsesReachTheClientAsThePodFramedThemAndTheConnectionGoesOn() throws Exception {
    try (ScriptedPod pod = new ScriptedPod(Map.of(
        "GET /plain", new ScriptedPod.Answer(PLAIN, false),
        "HEAD /plain", new ScriptedPod.Answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false),
        "GET /chunked", new ScriptedPod.Answer(CHUNKED, false),
        "GET /until-close", new ScriptedPod.Answer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true),
        "GET /early", new ScriptedPod.Answer("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false),
        "GET /hop", new ScriptedPod.Answer("HTTP/1.1 200 OK\r\nConnection: x-secret\r\nx-secret: 1\r\nKeep-Alive: timeout=5\r\n"
            + "x-kept: yes\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false),
        "GET /gzip", new ScriptedPod.Answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n\u001f\u008b\r\n0\r\n\r\n", false)))) {
      var admin = gateway.dev().cluster().client();
      RawPool pool = podOnPort("scripted", pod.port());
      String host = "Host: " + pod.port() + "-" + pool.sandboxId() + ".sandbox.localhost\r\n";

      // One client connection: each response must end exactly where the pod's did, or the next
      // would not be read as a response of its own.
      String out = raw("GET /plain HTTP/1.1\r\n" + host + "\r\n" + "HEAD /plain HTTP/1.1\r\n" + host + "\r\n"
          + "GET /chunked HTTP/1.1\r\n" + host + "\r\n" + "GET /until-close HTTP/1.1\r\n" + host + "\r\n"
          + "GET /early HTTP/1.1\r\n" + host + "\r\n" + "GET /hop HTTP/1.1\r\n" + host + "\r\n"
          + "GET /plain HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
      String[] responses = out.split("(?=HTTP/1\\.1 )");
      assertThat(responses).hasSize(8);
      // Nothing to change: the pod's bytes, header case and spacing included.
      assertThat(responses[0]).isEqualTo(PLAIN);
      assertThat(responses[1]).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
      // Chunked: chunk framing, extensions and trailers as the pod sent them.
      assertThat(responses[2]).isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n");
      // Ended by the pod's close: chunked for the client, whose connection stays.
      assertThat(responses[3]).isEqualTo("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
          + "d\r\nuntil the end\r\n0\r\n\r\n");
      assertThat(responses[4]).isEqualTo("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
      assertThat(responses[5]).isEqualTo("HTTP/1.1 204 No Content\r\n\r\n");
      // Hop-by-hop headers (and those the pod's Connection names) stay on the pod's hop; a
      // Content-Length that Transfer-Encoding overrides goes.
      assertThat(responses[6]).isEqualTo("HTTP/1.1 200 OK\r\nx-kept: yes\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
      assertThat(responses[7]).isEqualTo("HTTP/1.1 200 OK\r\nX-Custom:  kept as sent \r\nContent-Length: 5\r\nconnection: close\r\n\r\nhello");

      // An HTTP/1.0 client gets a chunked body as its data, ended by the close.
      assertThat(raw("GET /chunked HTTP/1.0\r\n" + host + "\r\n")).isEqualTo("HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nhello world");
      // A body in a transfer coding besides chunked keeps it in the rewritten head; an HTTP/1.0
      // client, which has no transfer codings, gets a 502 rather than bytes it cannot read.
      assertThat(raw("GET /gzip HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"))
          .isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\nconnection: close\r\n\r\n2\r\n\u001f\u008b\r\n0\r\n\r\n");
      assertThat(raw("GET /gzip HTTP/1.0\r\n" + host + "\r\n")).startsWith("HTTP/1.0 502 Bad Gateway\r\n")
          .contains("sent a body in transfer coding gzip, which an HTTP/1.0 client cannot take");
      release(pool.sandboxId());
      admin.resource(pool.pool()).delete();
    }
  }

  @Test
  void aResponseThatCannotBeFramedIsA502NotPassedOn() throws Exception {
    try (ScriptedPod pod = new ScriptedPod(Map.of(
        "GET /folded", new ScriptedPod.Answer("HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\nContent-Length: 0\r\n\r\n", false),
        "GET /two-lengths", new ScriptedPod.Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", false),
        "GET /not-http", new ScriptedPod.Answer("SSH-2.0-OpenSSH_9.2\r\n\r\n", false)))) {
      var admin = gateway.dev().cluster().client();
      RawPool pool = podOnPort("malformed", pod.port());
      String host = "Host: " + pod.port() + "-" + pool.sandboxId() + ".sandbox.localhost\r\n";
      for (String path : List.of("/folded", "/two-lengths", "/not-http")) {
        String out = raw("GET " + path + " HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
        assertThat(out).as(path).startsWith("HTTP/1.1 502 Bad Gateway\r\n")
            .contains("\"error\":\"sandbox " + pool.sandboxId() + " sent a malformed response: ");
      }
      release(pool.sandboxId());
      admin.resource(pool.pool()).delete();
    }
  }

  /** Writes one request on a kept-alive socket and reads exactly one response (sized by content-length). */
  static String exchange(java.net.Socket s, String request) throws Exception {
    s.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    s.getOutputStream().flush();
    var in = s.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      assertThat(b).as("connection closed mid-response: " + head).isNotNegative();
      head.append((char) b);
    }
    int length = head.toString().lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
        .mapToInt(l -> Integer.parseInt(l.substring(15).trim())).findFirst().orElseThrow();
    return head + new String(in.readNBytes(length), java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  @Test
  void idleClientConnectionsCloseAfterTheIdleTimeoutAndIdlePodConnectionsAreNotReusedPastTheKeepAlive() throws Exception {
    String id = create("");
    String get = "GET /health HTTP/1.1\r\nHost: 8080-" + id + ".sandbox.localhost\r\n\r\n";
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(15_000);
      double before = upstreamConnects();
      assertThat(exchange(s, get)).startsWith("HTTP/1.1 200");
      // Longer than the pod keep-alive, shorter than the client idle timeout: the client
      // connection stays, the pod connection it used is not reused.
      Instant first = Instant.now();
      Await.until("the pod connection idle past its keep-alive", Duration.ofSeconds(5),
          () -> Instant.now().isAfter(first.plus(POD_KEEPALIVE).plusMillis(500)) ? true : null);
      assertThat(exchange(s, get)).startsWith("HTTP/1.1 200");
      assertThat(upstreamConnects() - before).as("pod connections opened").isEqualTo(2);

      Instant last = Instant.now();
      assertThat(s.getInputStream().read()).as("the proxy closes the idle connection").isEqualTo(-1);
      assertThat(Duration.between(last, Instant.now())).isGreaterThanOrEqualTo(IDLE_TIMEOUT.minusMillis(50));
    }
    release(id);
  }
}
