package sh.navix.agentbox.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Duration;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.extproc.routing.RequestTargets;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * envoy/envoy.yaml without an Envoy binary: parsed into Envoy's own Bootstrap proto with a type
 * registry of every typed_config it uses (an unknown field or type fails the parse), then the
 * rules that matter for the gateway checked one by one.
 */
class EnvoyConfigTest {
  static final JsonFormat.TypeRegistry TYPES = JsonFormat.TypeRegistry.newBuilder()
      .add(HttpConnectionManager.getDescriptor())
      .add(ExternalProcessor.getDescriptor())
      .add(Router.getDescriptor())
      .add(HttpProtocolOptions.getDescriptor())
      .add(HttpGrpcAccessLogConfig.getDescriptor())
      .build();
  static Bootstrap bootstrap;
  static HttpConnectionManager hcm;

  static Bootstrap parse(String yaml) throws Exception {
    String json = new ObjectMapper().writeValueAsString(new YAMLMapper().readTree(yaml));
    Bootstrap.Builder b = Bootstrap.newBuilder();
    JsonFormat.parser().usingTypeRegistry(TYPES).merge(json, b);
    return b.build();
  }

  @BeforeAll
  static void load() throws Exception {
    bootstrap = parse(Files.readString(Path.of("envoy.yaml")));
    Listener l = bootstrap.getStaticResources().getListeners(0);
    hcm = l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
  }

  @Test
  void unknownFieldsAndTypesAreRejected() {
    assertThatThrownBy(() -> parse("static_resources: {listeners: [{name: x, bogus_field: 1}]}")).hasMessageContaining("bogus_field");
    assertThatThrownBy(() -> parse("static_resources: {listeners: [{name: x, filter_chains: [{filters: [{name: f, typed_config: "
        + "{\"@type\": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua}}]}]}]}"))
        .hasMessageContaining("lua");
  }

  @Test
  void listenerOn10000WithWebSocketUpgradesAndLongIdleTimeouts() {
    Listener l = bootstrap.getStaticResources().getListeners(0);
    assertThat(l.getAddress().getSocketAddress().getPortValue()).isEqualTo(10000);
    assertThat(hcm.getUpgradeConfigsList()).extracting(u -> u.getUpgradeType()).contains("websocket");
    assertThat(seconds(hcm.getStreamIdleTimeout())).isGreaterThanOrEqualTo(3600);
    Route route = hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0);
    assertThat(route.getRoute().getCluster()).isEqualTo("sandbox_pods");
    assertThat(seconds(route.getRoute().getTimeout())).as("no per-request timeout on tunnels").isZero();
    assertThat(seconds(route.getRoute().getIdleTimeout())).isGreaterThanOrEqualTo(3600);
  }

  @Test
  void extProcSendsRequestHeadersOnlyFailsClosedAndReceivesLbMetadata() throws Exception {
    List<HttpFilter> filters = hcm.getHttpFiltersList();
    assertThat(filters).extracting(HttpFilter::getName).containsExactly("envoy.filters.http.ext_proc", "envoy.filters.http.router");
    ExternalProcessor ext = filters.get(0).getTypedConfig().unpack(ExternalProcessor.class);
    ProcessingMode mode = ext.getProcessingMode();
    assertThat(mode.getRequestHeaderMode()).isEqualTo(ProcessingMode.HeaderSendMode.SEND);
    assertThat(mode.getRequestBodyMode()).isEqualTo(ProcessingMode.BodySendMode.NONE);
    assertThat(mode.getResponseBodyMode()).isEqualTo(ProcessingMode.BodySendMode.NONE);
    assertThat(ext.getFailureModeAllow()).isFalse();
    assertThat(ext.hasMessageTimeout()).isTrue();
    assertThat(ext.getMessageTimeout().getSeconds() * 1000 + ext.getMessageTimeout().getNanos() / 1_000_000).isBetween(1L, 2000L);
    assertThat(ext.getMetadataOptions().getReceivingNamespaces().getUntypedList()).contains("envoy.lb");
    assertThat(ext.getGrpcService().getEnvoyGrpc().getClusterName()).isEqualTo("agentbox_gateway_grpc");
  }

  @Test
  void originalDstClusterReadsTheGatewaysHeader() {
    Cluster pods = cluster("sandbox_pods");
    assertThat(pods.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
    assertThat(pods.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);
    assertThat(pods.getOriginalDstLbConfig().getUseHttpHeader()).isTrue();
    assertThat(pods.getOriginalDstLbConfig().getHttpHeaderName()).isEqualTo(RequestTargets.DESTINATION);
  }

  @Test
  void gatewayGrpcClusterSpeaksHttp2AndIsHealthChecked() throws Exception {
    Cluster grpc = cluster("agentbox_gateway_grpc");
    HttpProtocolOptions h = grpc.getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
        .unpack(HttpProtocolOptions.class);
    assertThat(h.getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
    assertThat(grpc.getHealthChecks(0).hasGrpcHealthCheck()).isTrue();
    assertThat(grpc.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress().getPortValue())
        .as("the gateway's --grpc-port default").isEqualTo(9002);
  }

  @Test
  void tunnelsReportActivityThroughTheGrpcAccessLog() throws Exception {
    assertThat(seconds(hcm.getAccessLogOptions().getAccessLogFlushInterval())).isBetween(1L, 120L);
    assertThat(hcm.getAccessLogOptions().getFlushLogOnTunnelSuccessfullyEstablished()).isTrue();
    HttpGrpcAccessLogConfig log = hcm.getAccessLog(0).getTypedConfig().unpack(HttpGrpcAccessLogConfig.class);
    assertThat(log.getCommonConfig().getGrpcService().getEnvoyGrpc().getClusterName()).isEqualTo("agentbox_gateway_grpc");
  }

  @Test
  void everyClusterReferenceResolves() throws Exception {
    Set<String> clusters = bootstrap.getStaticResources().getClustersList().stream().map(Cluster::getName).collect(Collectors.toSet());
    assertThat(clusters).contains(hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0).getRoute().getCluster());
    for (Cluster c : bootstrap.getStaticResources().getClustersList()) {
      assertThat(seconds(c.getConnectTimeout())).as("connect_timeout of %s", c.getName()).isPositive();
    }
  }

  static Cluster cluster(String name) {
    return bootstrap.getStaticResources().getClustersList().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  static long seconds(Duration d) {
    return d.getSeconds();
  }
}
