package sh.navix.agentbox.extproc.envoy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.TrailersResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.extproc.activity.ActivityTracker;
import sh.navix.agentbox.extproc.routing.RequestTargets;
import sh.navix.agentbox.extproc.routing.RouteDecision;
import sh.navix.agentbox.extproc.routing.SandboxRouter;

/**
 * Envoy's external processor ({@code envoy.service.ext_proc.v3.ExternalProcessor/Process}): for
 * request headers, the routing brain's decision as a header mutation (overwrite
 * {@code x-gateway-destination-endpoint}, rewrite {@code :path} for path routing, clear the
 * route cache) plus {@code envoy.lb} dynamic metadata, or an immediate JSON error. Any other phase
 * Envoy sends gets CONTINUE. A broken stream ends that stream only.
 */
public final class ExtProcService {
  private static final Logger LOG = LoggerFactory.getLogger(ExtProcService.class);
  public static final ServiceName NAME = ServiceName.create("envoy.service.ext_proc.v3.ExternalProcessor");
  public static final ServiceMethod<ProcessingRequest, ProcessingResponse> PROCESS = ServiceMethod.server(NAME, "Process",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ProcessingRequest.newBuilder()));
  /** Headers a client could use to steer Envoy itself; removed from every routed request. */
  static final List<String> STEERING = List.of("x-envoy-original-dst-host");

  private final SandboxRouter router;
  private final ActivityTracker activity;
  private final Timer handlerTime;
  private final Counter brokenStreams;

  public ExtProcService(SandboxRouter router, ActivityTracker activity, MeterRegistry registry) {
    this.router = router;
    this.activity = activity;
    this.handlerTime = Timer.builder("agentbox_extproc_request_headers_seconds")
        .description("Time to decide a request_headers message").publishPercentiles(0.5, 0.99).register(registry);
    this.brokenStreams = Counter.builder("agentbox_extproc_broken_streams_total").description("ext_proc streams that ended with an error").register(registry);
  }

  public void register(GrpcServer server) {
    server.callHandler(PROCESS, call -> {
      call.handler(req -> {
        ProcessingResponse resp;
        try {
          resp = handle(req);
        } catch (RuntimeException e) {
          LOG.error("ext_proc: cannot process {}: {}", req.getRequestCase(), e.toString(), e);
          resp = immediate(500, "{\"error\":\"internal error in the gateway's external processor\"}", null, "agentbox_internal_error");
        }
        call.response().write(resp);
      });
      call.endHandler(v -> call.response().end());
      call.exceptionHandler(e -> {
        brokenStreams.increment();
        LOG.debug("ext_proc stream ended with an error: {}", e.toString());
      });
    });
  }

  /** One answer per message, in order, as Envoy expects outside observability mode. */
  public ProcessingResponse handle(ProcessingRequest req) {
    return switch (req.getRequestCase()) {
      case REQUEST_HEADERS -> requestHeaders(req.getRequestHeaders());
      case REQUEST_BODY -> ProcessingResponse.newBuilder().setRequestBody(BodyResponse.newBuilder().setResponse(CommonResponse.getDefaultInstance())).build();
      case REQUEST_TRAILERS -> ProcessingResponse.newBuilder().setRequestTrailers(TrailersResponse.getDefaultInstance()).build();
      case RESPONSE_HEADERS -> ProcessingResponse.newBuilder().setResponseHeaders(HeadersResponse.newBuilder().setResponse(CommonResponse.getDefaultInstance())).build();
      case RESPONSE_BODY -> ProcessingResponse.newBuilder().setResponseBody(BodyResponse.newBuilder().setResponse(CommonResponse.getDefaultInstance())).build();
      case RESPONSE_TRAILERS -> ProcessingResponse.newBuilder().setResponseTrailers(TrailersResponse.getDefaultInstance()).build();
      case REQUEST_NOT_SET -> immediate(400, "{\"error\":\"empty processing request\"}", null, "agentbox_bad_request");
    };
  }

  ProcessingResponse requestHeaders(HttpHeaders headers) {
    long start = System.nanoTime();
    Map<String, String> h = new HashMap<>();
    for (HeaderValue v : headers.getHeaders().getHeadersList()) {
      String value = v.getRawValue().isEmpty() ? v.getValue() : v.getRawValue().toString(StandardCharsets.UTF_8);
      h.putIfAbsent(v.getKey().toLowerCase(Locale.ROOT), value);
    }
    String authority = h.get(":authority");
    RouteDecision d = router.route(h::get, authority != null ? authority : h.get("host"), h.get(":path"));
    ProcessingResponse resp;
    if (d instanceof RouteDecision.Reject r) {
      resp = immediate(r.status(), r.body(), r.retryAfterSeconds(), "agentbox_" + r.status());
    } else {
      RouteDecision.Route route = (RouteDecision.Route) d;
      activity.touch(route.sandboxId());
      HeaderMutation.Builder m = HeaderMutation.newBuilder()
          .addSetHeaders(set(RequestTargets.DESTINATION, route.endpoint()))
          .addAllRemoveHeaders(STEERING);
      if (!route.path().equals(h.get(":path"))) {
        m.addSetHeaders(set(":path", route.path()));
      }
      Struct lb = Struct.newBuilder().putFields(RequestTargets.DESTINATION, Value.newBuilder().setStringValue(route.endpoint()).build()).build();
      resp = ProcessingResponse.newBuilder()
          .setRequestHeaders(HeadersResponse.newBuilder().setResponse(CommonResponse.newBuilder()
              .setHeaderMutation(m).setClearRouteCache(true)))
          .setDynamicMetadata(Struct.newBuilder().putFields("envoy.lb", Value.newBuilder().setStructValue(lb).build()))
          .build();
    }
    handlerTime.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    return resp;
  }

  /** Overwrites (never appends) a header; raw_value only, as Envoy requires. */
  static HeaderValueOption set(String key, String value) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(key).setRawValue(ByteString.copyFromUtf8(value)))
        .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
        .build();
  }

  static ProcessingResponse immediate(int status, String jsonBody, Integer retryAfter, String details) {
    HeaderMutation.Builder headers = HeaderMutation.newBuilder().addSetHeaders(set("content-type", "application/json"));
    if (retryAfter != null) {
      headers.addSetHeaders(set("retry-after", Integer.toString(retryAfter)));
    }
    return ProcessingResponse.newBuilder().setImmediateResponse(ImmediateResponse.newBuilder()
        .setStatus(HttpStatus.newBuilder().setCode(StatusCode.forNumber(status) == null ? StatusCode.InternalServerError : StatusCode.forNumber(status)))
        .setHeaders(headers)
        .setBody(ByteString.copyFromUtf8(jsonBody))
        .setDetails(details))
        .build();
  }
}
