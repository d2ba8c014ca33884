package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.devcluster.DevCluster.Access;

/** The API server's audit: who asked for what, as Kubernetes' authorizer sees each request. */
class AuditTest {
  static Access resource(String user, String verb, String group, String resource, String subresource, String namespace) {
    return new Access(user, verb, group, resource, subresource, namespace, null);
  }

  @Test
  void eachKindOfRequestIsNotedOncePerUser(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setAudit(true)).await(30, TimeUnit.SECONDS);
    try (KubernetesClient alice = new KubernetesClientBuilder()
        .withConfig(Config.fromKubeconfig(Files.readString(cluster.writeKubeconfig(dir.resolve("kc"), "alice")))).build()) {
      var maps = alice.configMaps().inNamespace("team");
      for (int i = 0; i < 3; i++) {
        maps.resource(new ConfigMapBuilder().withNewMetadata().withName("m" + i).endMetadata().addToData("k", "v").build()).create();
      }
      maps.withName("m0").get();
      var m1 = maps.withName("m1").get();
      m1.getData().put("k", "w");
      maps.resource(m1).update();
      maps.withName("m2").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"data\":{\"k\":\"x\"}}");
      maps.withName("m2").delete();
      maps.list();
      alice.configMaps().inAnyNamespace().list();
      var watch = maps.watch(new io.fabric8.kubernetes.client.Watcher<>() {
        @Override
        public void eventReceived(Action action, io.fabric8.kubernetes.api.model.ConfigMap resource) {}

        @Override
        public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {}
      });
      watch.close();
      alice.leases().inNamespace("ops").resource(new LeaseBuilder().withNewMetadata().withName("l").endMetadata().build()).create();
      alice.resources(SandboxPool.class).inNamespace("team").list();

      Await.until("the watch noted", Duration.ofSeconds(5),
          () -> cluster.accesses().contains(resource("alice", "watch", "", "configmaps", "", "team")) ? true : null);
      assertThat(cluster.accesses()).filteredOn(a -> a.user().equals("alice") && a.isResourceRequest()).containsExactlyInAnyOrder(
          resource("alice", "create", "", "configmaps", "", "team"),
          resource("alice", "get", "", "configmaps", "", "team"),
          resource("alice", "update", "", "configmaps", "", "team"),
          resource("alice", "patch", "", "configmaps", "", "team"),
          resource("alice", "delete", "", "configmaps", "", "team"),
          resource("alice", "list", "", "configmaps", "", "team"),
          resource("alice", "list", "", "configmaps", "", ""),
          resource("alice", "watch", "", "configmaps", "", "team"),
          resource("alice", "create", "coordination.k8s.io", "leases", "", "ops"),
          resource("alice", "list", "agents.navix.sh", "sandboxpools", "", "team"));
      assertThat(cluster.accesses()).as("the cluster's own client, without a token, registering the CRDs")
          .contains(resource("system:anonymous", "create", "apiextensions.k8s.io", "customresourcedefinitions", "", ""));
    } finally {
      cluster.stop().await(30, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
