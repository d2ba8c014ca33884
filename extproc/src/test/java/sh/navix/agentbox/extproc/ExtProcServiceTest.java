package sh.navix.agentbox.extproc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.data.accesslog.v3.AccessLogCommon;
import io.envoyproxy.envoy.data.accesslog.v3.AccessLogType;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.server.GrpcServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.extproc.activity.ActivityTracker;
import sh.navix.agentbox.extproc.envoy.AccessLogReceiver;
import sh.navix.agentbox.extproc.envoy.ExtProcService;
import sh.navix.agentbox.extproc.envoy.GrpcHealth;

/**
 * The ext_proc server with this test playing Envoy: a bidi stream per HTTP request, messages as
 * Envoy sends them (lower-case keys, values in raw_value), answers checked as Envoy reads them.
 */
class ExtProcServiceTest extends SandboxesOnDevCluster {
  static HttpServer server;
  static GrpcClient grpc;
  static ActivityTracker activity;
  static SimpleMeterRegistry registry = new SimpleMeterRegistry();
  static final ServiceMethod<ProcessingResponse, ProcessingRequest> PROCESS = ServiceMethod.client(ExtProcService.NAME, "Process",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ProcessingResponse.newBuilder()));
  static final ServiceMethod<StreamAccessLogsResponse, StreamAccessLogsMessage> LOGS = ServiceMethod.client(AccessLogReceiver.NAME,
      "StreamAccessLogs", GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(StreamAccessLogsResponse.newBuilder()));

  @BeforeAll
  static void startServer() throws Exception {
    activity = new ActivityTracker(vertx, admin, cache, registry, Duration.ofMillis(100));
    GrpcServer g = GrpcServer.server(vertx);
    new ExtProcService(router, activity, registry).register(g);
    new AccessLogReceiver(cache, activity, registry).register(g);
    GrpcHealth.register(g, cache::synced);
    server = vertx.createHttpServer().requestHandler(g).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    grpc = GrpcClient.client(vertx);
  }

  @AfterAll
  static void stopServer() throws Exception {
    grpc.close().await(10, TimeUnit.SECONDS);
    server.close().await(10, TimeUnit.SECONDS);
  }

  static io.vertx.core.net.SocketAddress address() {
    return io.vertx.core.net.SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1");
  }

  /** request_headers as Envoy builds them. */
  static ProcessingRequest headers(Map<String, String> h, boolean endOfStream) {
    HeaderMap.Builder m = HeaderMap.newBuilder();
    h.forEach((k, v) -> m.addHeaders(HeaderValue.newBuilder().setKey(k).setRawValue(ByteString.copyFromUtf8(v))));
    return ProcessingRequest.newBuilder().setRequestHeaders(HttpHeaders.newBuilder().setHeaders(m).setEndOfStream(endOfStream)).build();
  }

  /** One stream: sends {@code messages}, returns the answers (one per message, in order). */
  static List<ProcessingResponse> exchange(ProcessingRequest... messages) throws Exception {
    GrpcClientRequest<ProcessingRequest, ProcessingResponse> req = grpc.request(address(), PROCESS).await(10, TimeUnit.SECONDS);
    List<ProcessingResponse> answers = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    req.response().onSuccess(resp -> {
      resp.handler(answers::add);
      resp.endHandler(v -> done.complete(null));
      resp.exceptionHandler(done::completeExceptionally);
    }).onFailure(done::completeExceptionally);
    for (ProcessingRequest m : messages) {
      req.write(m).await(10, TimeUnit.SECONDS);
    }
    req.end();
    done.get(10, TimeUnit.SECONDS);
    return answers;
  }

  static Map<String, String> set(ProcessingResponse r) {
    Map<String, String> m = new java.util.HashMap<>();
    for (HeaderValueOption o : r.getRequestHeaders().getResponse().getHeaderMutation().getSetHeadersList()) {
      assertThat(o.getAppendAction()).isEqualTo(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD);
      assertThat(o.getHeader().getValue()).as("raw_value only").isEmpty();
      m.put(o.getHeader().getKey(), o.getHeader().getRawValue().toStringUtf8());
    }
    return m;
  }

  @Test
  void hostFormRoutesWithHeaderMutationAndLbMetadata() throws Exception {
    String endpoint = running.getStatus().getPodIP() + ":8888";
    ProcessingResponse r = exchange(headers(Map.of(":authority", "8888-sbxrun.sandbox.localhost", ":path", "/lab", ":method", "GET"), true)).get(0);
    assertThat(r.hasImmediateResponse()).isFalse();
    assertThat(set(r)).containsEntry("x-gateway-destination-endpoint", endpoint).doesNotContainKey(":path");
    assertThat(r.getRequestHeaders().getResponse().getClearRouteCache()).isTrue();
    assertThat(r.getDynamicMetadata().getFieldsOrThrow("envoy.lb").getStructValue()
        .getFieldsOrThrow("x-gateway-destination-endpoint").getStringValue()).isEqualTo(endpoint);
  }

  @Test
  void pathFormRewritesThePathAndSpoofedHeadersAreOverwritten() throws Exception {
    ProcessingResponse r = exchange(headers(Map.of(":authority", "gw.example.com", ":path", "/sandboxes/sbxrun/8080/api/run?x=1",
        "x-gateway-destination-endpoint", "169.254.169.254:80", "x-envoy-original-dst-host", "10.0.0.1:22"), true)).get(0);
    Map<String, String> set = set(r);
    assertThat(set).containsEntry(":path", "/api/run?x=1").containsEntry("x-gateway-destination-endpoint", running.getStatus().getPodIP() + ":8080");
    assertThat(r.getRequestHeaders().getResponse().getHeaderMutation().getRemoveHeadersList()).contains("x-envoy-original-dst-host");
  }

  @Test
  void unknownAndStartingSandboxesGetImmediateJsonErrors() throws Exception {
    ProcessingResponse unknown = exchange(headers(Map.of(":authority", "nosuch.sandbox.localhost", ":path", "/"), true)).get(0);
    assertThat(unknown.getImmediateResponse().getStatus().getCodeValue()).isEqualTo(404);
    assertThat(unknown.getImmediateResponse().getBody().toStringUtf8()).contains("\"error\"").contains("not found");
    ProcessingResponse starting = exchange(headers(Map.of("x-sandbox-id", "sbxstart", ":authority", "gw", ":path", "/"), true)).get(0);
    assertThat(starting.getImmediateResponse().getStatus().getCodeValue()).isEqualTo(503);
    assertThat(starting.getImmediateResponse().getHeaders().getSetHeadersList())
        .anySatisfy(h -> assertThat(h.getHeader().getKey()).isEqualTo("retry-after"));
    ProcessingResponse forbidden = exchange(headers(Map.of(":authority", "22-sbxrun.sandbox.localhost", ":path", "/"), true)).get(0);
    assertThat(forbidden.getImmediateResponse().getStatus().getCodeValue()).isEqualTo(403);
  }

  @Test
  void webSocketUpgradesRouteOnHeadersAndOtherPhasesContinue() throws Exception {
    List<ProcessingResponse> r = exchange(
        headers(Map.of(":authority", "sbxrun.sandbox.localhost", ":path", "/ws/echo", "upgrade", "websocket", "connection", "Upgrade",
            "sec-websocket-version", "13", "sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), false),
        ProcessingRequest.newBuilder().setResponseHeaders(HttpHeaders.newBuilder().setHeaders(HeaderMap.newBuilder()
            .addHeaders(HeaderValue.newBuilder().setKey(":status").setRawValue(ByteString.copyFromUtf8("101"))))).build());
    assertThat(r).hasSize(2);
    assertThat(set(r.get(0))).containsEntry("x-gateway-destination-endpoint", running.getStatus().getPodIP() + ":8080");
    assertThat(r.get(1).hasResponseHeaders()).isTrue();
    assertThat(r.get(1).getResponseHeaders().getResponse().getStatusValue()).isZero(); // CONTINUE
  }

  @Test
  void aClientThatDropsItsStreamDoesNotHurtTheServer() throws Exception {
    for (int i = 0; i < 5; i++) {
      GrpcClientRequest<ProcessingRequest, ProcessingResponse> req = grpc.request(address(), PROCESS).await(10, TimeUnit.SECONDS);
      req.write(headers(Map.of(":authority", "sbxrun.sandbox.localhost", ":path", "/"), false)).await(10, TimeUnit.SECONDS);
      req.cancel(); // Envoy's downstream went away mid-request
    }
    ProcessingResponse after = exchange(headers(Map.of(":authority", "sbxrun.sandbox.localhost", ":path", "/"), true)).get(0);
    assertThat(set(after)).containsKey("x-gateway-destination-endpoint");
  }

  @Test
  void healthServiceAnswersServing() throws Exception {
    ServiceMethod<Buffer, Buffer> check = ServiceMethod.client(GrpcHealth.NAME, "Check", GrpcMessageEncoder.IDENTITY, GrpcMessageDecoder.IDENTITY);
    GrpcClientRequest<Buffer, Buffer> req = grpc.request(address(), check).await(10, TimeUnit.SECONDS);
    Buffer answer = req.send(Buffer.buffer()).compose(resp -> resp.last()).await(10, TimeUnit.SECONDS);
    assertThat(answer.getBytes()).containsExactly(0x08, 0x01);
  }

  @Test
  void accessLogEntriesForATunnelCountAsActivity() throws Exception {
    java.time.Instant before = java.time.Instant.now().plusMillis(1);
    Await.until("a fresh millisecond", Duration.ofSeconds(1), () -> java.time.Instant.now().isAfter(before) ? true : null);
    GrpcClientRequest<StreamAccessLogsMessage, StreamAccessLogsResponse> req = grpc.request(address(), LOGS).await(10, TimeUnit.SECONDS);
    HTTPAccessLogEntry entry = HTTPAccessLogEntry.newBuilder().setCommonProperties(AccessLogCommon.newBuilder()
        .setAccessLogType(AccessLogType.DownstreamPeriodic)
        .setUpstreamRemoteAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
            .setAddress(running.getStatus().getPodIP()).setPortValue(8080)))).build();
    List<HTTPAccessLogEntry> entries = new ArrayList<>(List.of(entry));
    req.end(StreamAccessLogsMessage.newBuilder().setHttpLogs(StreamAccessLogsMessage.HTTPAccessLogEntries.newBuilder().addAllLogEntry(entries)).build());
    Await.until("entry recorded as activity", Duration.ofSeconds(5),
        () -> activity.lastSeen("sbxrun").filter(t -> !t.isBefore(before)).isPresent() ? true : null);
    assertThat(registry.get("agentbox_accesslog_entries_total").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("agentbox_accesslog_unmatched_total").counter().count()).isZero();
  }
}
