package sh.navix.agentbox.bench;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolSpec;
import sh.navix.agentbox.api.crd.SandboxRuntimeSpec;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * The dev cluster as a process of its own (API server, simulated node and the pods' HTTP
 * servers), with a pool "bench" of warm pods serving the dev runtime on port 8080. Benchmarks run
 * the gateway against it in another process, so the pods are not inside the gateway's JVM, as on
 * a real cluster. Writes its kubeconfig to {@code --kubeconfig} and runs until killed.
 */
final class ClusterProcess {
  private ClusterProcess() {}

  static void run(String[] args) throws Exception {
    Map<String, String> a = ReconcileBench.flags(args);
    Path kubeconfig = Path.of(a.getOrDefault("--kubeconfig", "kubeconfig"));
    int replicas = Integer.parseInt(a.getOrDefault("--replicas", "3"));
    Vertx vertx = Vertx.vertx();
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    SandboxPool pool = new SandboxPool();
    pool.setMetadata(new ObjectMetaBuilder().withName("bench").withNamespace("default").build());
    SandboxPoolSpec spec = new SandboxPoolSpec();
    spec.setReplicas(replicas);
    spec.setIdleImage("bench/idle:1");
    SandboxRuntimeSpec http = new SandboxRuntimeSpec();
    http.setName("http");
    http.setPort(8080);
    spec.setRuntimes(List.of(http));
    spec.setTemplate(new PodTemplateSpecBuilder().withNewSpec().addNewContainer().withName("sandbox").withImage("bench/sandbox:1")
        .addNewPort().withName("http").withContainerPort(8080).endPort().endContainer().endSpec().build());
    pool.setSpec(spec);
    cluster.client().resource(pool).create();
    Path tmp = kubeconfig.resolveSibling(kubeconfig.getFileName() + ".tmp");
    cluster.writeKubeconfig(tmp);
    Files.move(tmp, kubeconfig, java.nio.file.StandardCopyOption.ATOMIC_MOVE); // readers never see half a file
    ReconcileBench.log("dev cluster at %s; kubeconfig %s; pool bench (%d replicas)", cluster.masterUrl(), kubeconfig, replicas);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        cluster.stop().await(30, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }));
    new CountDownLatch(1).await();
  }
}
