package sh.navix.agentbox.devcluster.impl;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/** {@link DevCluster} on fabric8's CRUD mock server and the {@link DevKubelet}. */
public final class EmbeddedDevCluster implements DevCluster {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDevCluster.class);
  static final String CRD_RESOURCE_DIR = "META-INF/fabric8/";
  static final List<String> CRD_FILES =
      List.of("sandboxtemplates.agents.navix.sh-v1.yml", "sandboxpools.agents.navix.sh-v1.yml", "sandboxenvs.agents.navix.sh-v1.yml");

  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final DevKubelet kubelet;
  private final RunningContainers running;
  private final String masterUrl;
  private final AuditDispatcher audit;

  private EmbeddedDevCluster(KubernetesMockServer server, KubernetesClient client, DevKubelet kubelet, RunningContainers running,
      String masterUrl, AuditDispatcher audit) {
    this.audit = audit;
    this.server = server;
    this.client = client;
    this.kubelet = kubelet;
    this.running = running;
    this.masterUrl = masterUrl;
  }

  public static Future<DevCluster> start(Vertx vertx, DevClusterOptions options) {
    return vertx.<EmbeddedDevCluster>executeBlocking(() -> {
          // Blocking: binds the server socket and registers CRDs with synchronous client calls.
          Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
          RunningContainers running = new RunningContainers();
          MockWebServer web = new MockWebServer();
          Dispatcher dispatcher = new UnrecordedDispatcher(web, new ExecDispatcher(
              new NonBlockingWatchDispatcher(new DeletePreconditionDispatcher(new MixedDispatcher(responses, options.getWatchHistory()))), running));
          AuditDispatcher audit = options.isAudit() ? new AuditDispatcher(dispatcher) : null;
          KubernetesMockServer server = new KubernetesMockServer(new Context(), web, responses, audit != null ? audit : dispatcher, false);
          server.init(InetAddress.getByName(options.getHost()), options.getApiPort());
          String url = "http://" + options.getHost() + ":" + server.getPort();
          Config config = new ConfigBuilder().withMasterUrl(url).withNamespace("default").withRequestTimeout(30_000)
              .withWatchReconnectInterval(100).build(); // as the gateway's: an ended watch reopens after 100 ms, not fabric8's 1 s
          KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
          if (options.isRegisterCrds()) {
            for (CustomResourceDefinition crd : classpathCrds()) {
              client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
              LOG.debug("registered CRD {}", crd.getMetadata().getName());
            }
          }
          LOG.info("embedded Kubernetes API server on {}", url);
          return new EmbeddedDevCluster(server, client, new DevKubelet(vertx, client, options, running), running, url, audit);
        })
        .compose(c -> c.kubelet.start().map(v -> (DevCluster) c));
  }

  /** Every agents.navix.sh CRD generated into the api jar. */
  static List<CustomResourceDefinition> classpathCrds() throws IOException {
    List<CustomResourceDefinition> crds = new ArrayList<>();
    ClassLoader cl = EmbeddedDevCluster.class.getClassLoader();
    for (String file : CRD_FILES) {
      for (URL url : Collections.list(cl.getResources(CRD_RESOURCE_DIR + file))) {
        try (InputStream in = url.openStream()) {
          crds.add(Serialization.unmarshal(in, CustomResourceDefinition.class));
        }
        break;
      }
    }
    return crds;
  }

  @Override
  public String masterUrl() {
    return masterUrl;
  }

  @Override
  public KubernetesClient client() {
    return client;
  }

  @Override
  public List<Exec> execs(String namespace, String podName) {
    return running.execs(namespace, podName);
  }

  @Override
  public java.util.Set<Access> accesses() {
    return audit == null ? java.util.Set.of() : audit.accesses();
  }

  @Override
  public Path writeKubeconfig(Path file, String user) {
    String yaml = String.join("\n",
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: agentbox-dev",
        "  cluster:",
        "    server: " + masterUrl,
        "users:",
        "- name: agentbox-dev",
        "  user:",
        "    token: " + user,
        "contexts:",
        "- name: agentbox-dev",
        "  context:",
        "    cluster: agentbox-dev",
        "    user: agentbox-dev",
        "    namespace: default",
        "current-context: agentbox-dev",
        "");
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      Files.writeString(file, yaml);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write kubeconfig " + file, e);
    }
  }

  @Override
  public Future<Void> stop() {
    return kubelet.stop().eventually(() -> {
      client.close();
      server.destroy();
      LOG.info("embedded Kubernetes API server stopped");
      return Future.succeededFuture();
    });
  }
}
