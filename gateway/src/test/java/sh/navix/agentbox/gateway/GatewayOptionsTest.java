package sh.navix.agentbox.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GatewayOptionsTest {

  @Test
  void defaultsMatchTheDocumentedPorts() {
    GatewayOptions o = GatewayOptions.parse(List.of(), Map.of());
    assertThat(o.apiPort).isEqualTo(8080);
    assertThat(o.proxyPort).isEqualTo(8081);
    assertThat(o.grpcPort).isEqualTo(9002);
    assertThat(o.dev).isFalse();
    assertThat(o.home).isEqualTo(Path.of(System.getProperty("user.home"), ".agentbox"));
    assertThat(o.devDir()).isEqualTo(o.home.resolve("dev"));
  }

  @Test
  void flagsWinOverEnvironmentWhichWinsOverDefaults() {
    GatewayOptions o =
        GatewayOptions.parse(
            List.of("dev", "--api-port", "18080", "--grpc-port=19002"),
            Map.of("AGENTBOX_API_PORT", "28080", "AGENTBOX_PROXY_PORT", "28081", "AGENTBOX_HOME", "/tmp/abx",
                "AGENTBOX_DEV_PULL_DELAY", "1s"));
    assertThat(o.dev).isTrue();
    assertThat(o.apiPort).isEqualTo(18080);
    assertThat(o.proxyPort).isEqualTo(28081);
    assertThat(o.grpcPort).isEqualTo(19002);
    assertThat(o.home).isEqualTo(Path.of("/tmp/abx"));
    assertThat(o.devPullDelay).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void badInputIsRejectedWithTheSettingNamed() {
    assertThatThrownBy(() -> GatewayOptions.parse(List.of("--api-port", "http"), Map.of()))
        .hasMessageContaining("--api-port").hasMessageContaining("AGENTBOX_API_PORT");
    assertThatThrownBy(() -> GatewayOptions.parse(List.of(), Map.of("AGENTBOX_GRPC_PORT", "70000")))
        .hasMessageContaining("out of range");
    assertThatThrownBy(() -> GatewayOptions.parse(List.of("--frobnicate"), Map.of()))
        .hasMessageContaining("unknown argument '--frobnicate'");
    assertThatThrownBy(() -> GatewayOptions.parse(List.of("--home"), Map.of()))
        .hasMessageContaining("--home needs a value");
  }
}
