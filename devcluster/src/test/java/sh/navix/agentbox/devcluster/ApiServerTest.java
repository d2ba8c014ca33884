package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.autoscaling.v1.Scale;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolSpec;
import sh.navix.agentbox.api.crd.SandboxPoolStatus;

/** The embedded API server: our CRDs are registered with a status subresource, and the kubeconfig works. */
class ApiServerTest extends DevClusterTestBase {
  static final ResourceDefinitionContext POOLS = new ResourceDefinitionContext.Builder()
      .withGroup("agents.navix.sh").withVersion("v1alpha1").withKind("SandboxPool").withPlural("sandboxpools").withNamespaced(true).build();

  @Test
  void crdsAreRegisteredWithStatusSubresource() {
    assertThat(client.apiextensions().v1().customResourceDefinitions().list().getItems())
        .extracting(c -> c.getMetadata().getName())
        .contains("sandboxtemplates.agents.navix.sh", "sandboxpools.agents.navix.sh", "sandboxenvs.agents.navix.sh");

    GenericKubernetesResource pool = new GenericKubernetesResource();
    pool.setApiVersion("agents.navix.sh/v1alpha1");
    pool.setKind("SandboxPool");
    pool.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("p1").withNamespace("default").build());
    pool.setAdditionalProperty("spec", Map.of("replicas", 2));
    var created = client.genericKubernetesResources(POOLS).inNamespace("default").resource(pool).create();

    // A status write does not touch spec; a spec write does not touch status.
    created.setAdditionalProperty("status", Map.of("idleReplicas", 2));
    created.setAdditionalProperty("spec", Map.of("replicas", 9));
    client.genericKubernetesResources(POOLS).inNamespace("default").resource(created).updateStatus();
    var read = client.genericKubernetesResources(POOLS).inNamespace("default").withName("p1").get();
    assertThat(read.get("status", "idleReplicas").toString()).isEqualTo("2");
    assertThat(read.get("spec", "replicas").toString()).isEqualTo("2");
  }

  /** As on a real API server, a delete whose preconditions no longer hold is a 409 and deletes nothing. */
  @Test
  void aDeleteWithAStalePreconditionIsRefused() {
    var pods = client.pods().inNamespace("default");
    var created = pods.resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName("guarded").endMetadata()
        .withNewSpec().addNewContainer().withName("c").withImage("example/idle:1").endContainer().endSpec().build()).create();
    String before = created.getMetadata().getResourceVersion();
    // Changed since (the simulated kubelet writes the new pod's status at once: on a 409, again).
    Await.until("the pod changed", java.time.Duration.ofSeconds(10), () -> {
      var current = pods.withName("guarded").get();
      current.getMetadata().setLabels(Map.of("changed", "yes"));
      try {
        return pods.resource(current).update();
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        return e.getCode() == 409 ? null : org.assertj.core.api.Assertions.fail("unexpected", e);
      }
    });

    var refused = org.assertj.core.api.Assertions.catchThrowableOfType(io.fabric8.kubernetes.client.KubernetesClientException.class,
        () -> pods.withName("guarded").lockResourceVersion(before).delete());
    assertThat(refused.getCode()).isEqualTo(409);
    assertThat(refused.getStatus().getMessage()).contains("precondition");
    assertThat(pods.withName("guarded").get()).as("still there").isNotNull();

    // With the version as it is now (the simulated kubelet may write status meanwhile: then again).
    Await.until("deleted with a current precondition", java.time.Duration.ofSeconds(10), () -> {
      try {
        return pods.withName("guarded").lockResourceVersion(pods.withName("guarded").get().getMetadata().getResourceVersion()).delete();
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        return e.getCode() == 409 ? null : org.assertj.core.api.Assertions.fail("unexpected", e);
      }
    });
    assertThat(pods.withName("guarded").get()).isNull();
  }

  @Test
  void scaleSubresourceReadsAndWritesReplicas() {
    SandboxPool pool = new SandboxPool();
    pool.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("scaled").withNamespace("default").build());
    pool.setSpec(new SandboxPoolSpec());
    pool.getSpec().setReplicas(2);
    var pools = client.resources(SandboxPool.class).inNamespace("default");
    pools.resource(pool).create();
    SandboxPoolStatus status = new SandboxPoolStatus();
    status.setSelector("agentbox.navix.sh/sandbox-pool=scaled");
    status.setRunningReplicas(1);
    pool.setStatus(status);
    pools.resource(pool).updateStatus();

    Scale scale = pools.withName("scaled").scale();
    assertThat(scale.getSpec().getReplicas()).isEqualTo(2);
    assertThat(scale.getStatus().getSelector()).isEqualTo("agentbox.navix.sh/sandbox-pool=scaled");

    pools.withName("scaled").scale(5);
    assertThat(pools.withName("scaled").get().getSpec().getReplicas()).isEqualTo(5);
    assertThat(pools.withName("scaled").get().getStatus().getRunningReplicas()).isEqualTo(1);
  }

  @Test
  void writtenKubeconfigReachesTheServer(@TempDir Path dir) throws Exception {
    createPod("kc", "example/app:1", List.of());
    Path file = cluster.writeKubeconfig(dir.resolve("nested/kubeconfig"));
    try (KubernetesClient other = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(file))).build()) {
      assertThat(other.getMasterUrl().toString()).startsWith(cluster.masterUrl());
      assertThat(other.pods().inNamespace("default").withName("kc").get()).isNotNull();
    }
  }

  /**
   * An informer opens its watch again every 5-10 minutes, from the last resourceVersion it saw: as
   * on a real API server, the watch starts with what happened since (deletions, then the objects
   * changed, each as ADDED, as it is now), not with every object held. Without a version it starts
   * with every object.
   */
  @Test
  void aWatchFromAResourceVersionStartsWithWhatHappenedSince() {
    var maps = client.configMaps().inNamespace("default");
    String run = "w" + System.nanoTime();
    java.util.function.Function<String, io.fabric8.kubernetes.api.model.ConfigMap> create = name -> maps.resource(
        new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata().withName(run + "-" + name).addToLabels("run", run)
            .endMetadata().addToData("v", "1").build()).create();
    create.apply("a");
    create.apply("b");
    create.apply("d");
    String seen = create.apply("e").getMetadata().getResourceVersion();
    var a = maps.withName(run + "-a").get();
    a.getData().put("v", "2");
    maps.resource(a).update();
    maps.withName(run + "-d").delete(); // gone after the version: sent as DELETED
    maps.withName(run + "-e").delete(); // gone and made again: DELETED, then ADDED as it is now
    var again = create.apply("e");
    again.getData().put("v", "3");
    maps.resource(again).update();
    create.apply("c");

    List<String> fromVersion = watchUntilMarker(maps.withLabel("run", run).withResourceVersion(seen), create, "m1");
    assertThat(fromVersion).as("what happened after version %s, then the change made while watching", seen)
        .startsWith("DELETED " + run + "-d v=1", "DELETED " + run + "-e v=1")
        .containsExactlyInAnyOrder("DELETED " + run + "-d v=1", "DELETED " + run + "-e v=1", "ADDED " + run + "-a v=2",
            "ADDED " + run + "-e v=3", "ADDED " + run + "-c v=1", "ADDED " + run + "-m1 v=1")
        .endsWith("ADDED " + run + "-m1 v=1");

    List<String> everything = watchUntilMarker(maps.withLabel("run", run), create, "m2");
    assertThat(everything).containsExactlyInAnyOrder("ADDED " + run + "-a v=2", "ADDED " + run + "-b v=1", "ADDED " + run + "-c v=1",
        "ADDED " + run + "-e v=3", "ADDED " + run + "-m1 v=1", "ADDED " + run + "-m2 v=1").endsWith("ADDED " + run + "-m2 v=1");
  }

  /**
   * A watch from before the oldest deletion the API server remembers cannot be told of every
   * deletion since: it is answered 410 Gone ("too old resource version", reason Expired), as a real
   * API server answers one from before its watch cache, and sent nothing else. One from within
   * what is remembered is resumed.
   */
  @Test
  void aWatchFromBeforeTheRememberedDeletionsIsGone() throws Exception {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new DevClusterOptions().setWatchHistory(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1");
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    DevCluster small = DevCluster.start(vertx, new DevClusterOptions().setWatchHistory(2)).await(60, java.util.concurrent.TimeUnit.SECONDS);
    try {
      var maps = small.client().configMaps().inNamespace("default");
      java.util.function.Function<String, io.fabric8.kubernetes.api.model.ConfigMap> create = name -> maps.resource(
          new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata().withName("g-" + name).addToLabels("run", "gone").endMetadata()
              .addToData("v", "1").build()).create();
      String before = create.apply("a").getMetadata().getResourceVersion();
      create.apply("b");
      create.apply("c");
      maps.withName("g-a").delete();
      String within = maps.withName("g-b").edit(m -> { // a version after a's deletion, the one forgotten below
        m.getData().put("v", "2");
        return m;
      }).getMetadata().getResourceVersion();
      maps.withName("g-b").delete();
      maps.withName("g-c").delete(); // three deletions, two remembered: a's is forgotten

      var closed = new java.util.concurrent.CompletableFuture<io.fabric8.kubernetes.client.WatcherException>();
      List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
      try (var watch = maps.withLabel("run", "gone").withResourceVersion(before).watch(new io.fabric8.kubernetes.client.Watcher<>() {
        @Override
        public void eventReceived(Action action, io.fabric8.kubernetes.api.model.ConfigMap m) {
          events.add(action + " " + m.getMetadata().getName());
        }

        @Override
        public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {
          closed.complete(cause);
        }
      })) {
        var cause = closed.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(cause.isHttpGone()).as("410 Gone: %s", cause.getMessage()).isTrue();
        assertThat(cause.getMessage()).contains("too old resource version: " + before);
      }
      assertThat(events).as("events before the 410").isEmpty();

      assertThat(watchUntilMarker(maps.withLabel("run", "gone").withResourceVersion(within), create, "m"))
          .containsExactly("DELETED g-b v=2", "DELETED g-c v=1", "ADDED g-m v=1");
    } finally {
      small.stop().await(30, java.util.concurrent.TimeUnit.SECONDS);
      vertx.close().await(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /** Watches until the ConfigMap {@code marker}, created once the watch is open, has been seen; returns the events in order. */
  private static List<String> watchUntilMarker(io.fabric8.kubernetes.client.dsl.Watchable<io.fabric8.kubernetes.api.model.ConfigMap> watchable,
      java.util.function.Function<String, io.fabric8.kubernetes.api.model.ConfigMap> create, String marker) {
    List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    var markerSeen = new java.util.concurrent.CompletableFuture<Void>();
    try (var watch = watchable.watch(new io.fabric8.kubernetes.client.Watcher<>() {
      @Override
      public void eventReceived(Action action, io.fabric8.kubernetes.api.model.ConfigMap m) {
        events.add(action + " " + m.getMetadata().getName() + " v=" + m.getData().get("v"));
        if (m.getMetadata().getName().endsWith("-" + marker)) {
          markerSeen.complete(null);
        }
      }

      @Override
      public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {
        markerSeen.completeExceptionally(cause);
      }
    })) {
      create.apply(marker);
      markerSeen.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join();
    }
    return List.copyOf(events);
  }
}
