package sh.navix.agentbox.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A listener port already taken fails the start, saying so, instead of a gateway without its proxy. */
class PortInUseTest {
  @TempDir Path home;

  @Test
  void aTakenProxyPortFailsTheStart() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      GatewayOptions o = GatewayOptions.parse(List.of("dev", "--api-port", "0", "--dev-api-port", "0", "--grpc-port", "0",
          "--proxy-port", Integer.toString(taken.getLocalPort()), "--home", home.toString()), Map.of());
      assertThatThrownBy(() -> Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .satisfies(e -> assertThat(e.getCause().toString()).containsIgnoringCase("address already in use"));
    }
  }
}
