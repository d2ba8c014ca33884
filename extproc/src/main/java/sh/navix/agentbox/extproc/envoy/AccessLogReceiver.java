package sh.navix.agentbox.extproc.envoy;

import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import java.util.Optional;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.extproc.activity.ActivityTracker;

/**
 * Receives Envoy's HTTP access log over gRPC ({@code envoy.service.accesslog.v3.AccessLogService}).
 * Envoy flushes entries for long-lived connections periodically ({@code access_log_flush_interval})
 * and when a tunnel is established, so a WebSocket that carries traffic for hours keeps its
 * sandbox active although ext_proc saw only its first request. Entries are matched to sandboxes by
 * the upstream address Envoy connected to (the pod's IP and port).
 */
public final class AccessLogReceiver {
  public static final ServiceName NAME = ServiceName.create("envoy.service.accesslog.v3.AccessLogService");
  public static final ServiceMethod<StreamAccessLogsMessage, StreamAccessLogsResponse> STREAM = ServiceMethod.server(NAME,
      "StreamAccessLogs", GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(StreamAccessLogsMessage.newBuilder()));

  private final ClusterCache cache;
  private final ActivityTracker activity;
  private final Counter entries;
  private final Counter unmatched;

  public AccessLogReceiver(ClusterCache cache, ActivityTracker activity, MeterRegistry registry) {
    this.cache = cache;
    this.activity = activity;
    this.entries = Counter.builder("agentbox_accesslog_entries_total").description("Envoy access log entries received").register(registry);
    this.unmatched = Counter.builder("agentbox_accesslog_unmatched_total").description("Access log entries that matched no sandbox").register(registry);
  }

  public void register(GrpcServer server) {
    server.callHandler(STREAM, call -> {
      call.handler(msg -> msg.getHttpLogs().getLogEntryList().forEach(this::record));
      call.endHandler(v -> call.response().end(StreamAccessLogsResponse.getDefaultInstance()));
      call.exceptionHandler(e -> { /* Envoy reconnects; a broken stream loses nothing we depend on */ });
    });
  }

  void record(HTTPAccessLogEntry e) {
    entries.increment();
    var address = e.getCommonProperties().getUpstreamRemoteAddress().getSocketAddress();
    Optional<String> sandbox = cache.podBySandboxIp(address.getAddress()).map(Pods::sandboxId);
    if (sandbox.isPresent()) {
      activity.touch(sandbox.get());
    } else {
      unmatched.increment();
    }
  }
}
