package sh.navix.agentbox.extproc.envoy;

import io.vertx.core.buffer.Buffer;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import java.util.function.BooleanSupplier;

/**
 * The standard gRPC health service ({@code grpc.health.v1.Health/Check}), so Envoy can health-check
 * the ext_proc cluster. Messages are tiny and encoded by hand: {@code HealthCheckResponse} is one
 * enum field, SERVING (1) or NOT_SERVING (2).
 */
public final class GrpcHealth {
  public static final ServiceName NAME = ServiceName.create("grpc.health.v1.Health");
  static final ServiceMethod<Buffer, Buffer> CHECK = ServiceMethod.server(NAME, "Check", GrpcMessageEncoder.IDENTITY, GrpcMessageDecoder.IDENTITY);
  static final Buffer SERVING = Buffer.buffer(new byte[] {0x08, 0x01});
  static final Buffer NOT_SERVING = Buffer.buffer(new byte[] {0x08, 0x02});

  private GrpcHealth() {}

  /** {@code ready}: whether the gateway can route (its cache has synced). */
  public static void register(GrpcServer server, BooleanSupplier ready) {
    server.callHandler(CHECK, call -> call
        .handler(req -> call.response().end(ready.getAsBoolean() ? SERVING : NOT_SERVING))
        .exceptionHandler(e -> { /* the client went away: nothing to answer */ }));
  }
}
