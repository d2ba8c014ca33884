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
  void proxyTimeoutsHaveDefaultsAndTakeDurations() {
    GatewayOptions defaults = GatewayOptions.parse(List.of(), Map.of());
    assertThat(defaults.proxyIdleTimeout).isEqualTo(Duration.ofSeconds(75));
    assertThat(defaults.proxyPodKeepAlive).isEqualTo(Duration.ofSeconds(4));
    GatewayOptions o = GatewayOptions.parse(List.of("--proxy-idle-timeout", "0"), Map.of("AGENTBOX_PROXY_POD_KEEPALIVE", "1500ms"));
    assertThat(o.proxyIdleTimeout).isZero();
    assertThat(o.proxyPodKeepAlive).isEqualTo(Duration.ofMillis(1500));
    assertThatThrownBy(() -> GatewayOptions.parse(List.of("--proxy-pod-keepalive", "soon"), Map.of()))
        .hasMessageContaining("--proxy-pod-keepalive");
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

  @Test
  void lifecycleAndClaimSettings() {
    GatewayOptions d = GatewayOptions.parse(List.of(), Map.of());
    assertThat(d.leaseNamespace).isEqualTo("default");
    assertThat(d.historyRetention).isEqualTo(Duration.ofDays(30));
    assertThat(d.scaleDownProtection).isEqualTo(Duration.ofSeconds(10));
    assertThat(d.maxClaimWait).isEqualTo(Duration.ofMinutes(5));
    assertThat(d.sandboxDomain).isEqualTo("sandbox.localhost");
    assertThat(d.maxReconcileWrites).isEqualTo(32);
    assertThat(d.watchReconnectDelay).isEqualTo(Duration.ofMillis(100));
    assertThat(d.historyFile()).isEqualTo(d.home.resolve("history/sandboxes"));

    GatewayOptions o = GatewayOptions.parse(List.of("--history-retention", "0", "--scale-down-protection=30s", "--identity", "gw-a",
        "--kubeconfig", "/etc/k/config", "--max-claim-wait", "90s", "--sandbox-domain", "sbx.example.com", "--max-reconcile-writes=8",
        "--watch-reconnect-delay", "2s"),
        Map.of("POD_NAMESPACE", "agentbox"));
    assertThat(o.leaseNamespace).as("the pod's own namespace by default").isEqualTo("agentbox");
    assertThat(o.historyRetention).isZero();
    assertThat(o.scaleDownProtection).isEqualTo(Duration.ofSeconds(30));
    assertThat(o.identity).isEqualTo("gw-a");
    assertThat(o.kubeconfig).isEqualTo(Path.of("/etc/k/config"));
    assertThat(o.maxClaimWait).isEqualTo(Duration.ofSeconds(90));
    assertThat(o.sandboxDomain).isEqualTo("sbx.example.com");
    assertThat(o.maxReconcileWrites).isEqualTo(8);
    assertThat(o.watchReconnectDelay).isEqualTo(Duration.ofSeconds(2));
    assertThatThrownBy(() -> GatewayOptions.parse(List.of("--history-retention", "a month"), Map.of()))
        .hasMessageContaining("--history-retention");
    assertThatThrownBy(() -> GatewayOptions.parse(List.of("--max-reconcile-writes", "0"), Map.of()))
        .hasMessageContaining("--max-reconcile-writes").hasMessageContaining("at least 1");
    assertThatThrownBy(() -> GatewayOptions.parse(List.of(), Map.of("AGENTBOX_MAX_RECONCILE_WRITES", "many")))
        .hasMessageContaining("AGENTBOX_MAX_RECONCILE_WRITES").hasMessageContaining("not a whole number");
    for (String bad : List.of("0", "0.5ms", "2m")) {
      assertThatThrownBy(() -> GatewayOptions.parse(List.of("--watch-reconnect-delay", bad), Map.of()))
          .hasMessageContaining("--watch-reconnect-delay").hasMessageContaining("from 1ms to 1m");
    }
    assertThatThrownBy(() -> GatewayOptions.parse(List.of(), Map.of("AGENTBOX_WATCH_RECONNECT_DELAY", "soon")))
        .hasMessageContaining("AGENTBOX_WATCH_RECONNECT_DELAY");
  }
}
