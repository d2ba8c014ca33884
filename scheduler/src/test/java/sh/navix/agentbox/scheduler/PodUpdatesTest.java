package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.lifecycle.KubeErrors;
import sh.navix.agentbox.api.lifecycle.PodUpdates;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/** The claim's non-blocking compare-and-swap write, against the dev cluster's API server. */
class PodUpdatesTest {
  static Vertx vertx;
  static DevCluster cluster;
  static KubernetesClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    Config config = new ConfigBuilder().withMasterUrl(cluster.masterUrl()).withRequestTimeout(10_000).build();
    client = new KubernetesClientBuilder().withConfig(config).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    cluster.stop().await(30, TimeUnit.SECONDS);
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  /** A pod the simulated node has started: it writes no more to it until its spec changes. */
  static Pod create(String name) {
    client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
        .withNewSpec().addNewContainer().withName("main").withImage("example/idle:1").endContainer().endSpec().build()).create();
    return client.pods().inNamespace("default").withName(name).waitUntilCondition(
        p -> p != null && p.getStatus() != null && p.getStatus().getConditions() != null
            && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())),
        30, TimeUnit.SECONDS);
  }

  /** Runs the update on a Vert.x context, as the scheduler does, and reports the context the answer came back on. */
  static Object[] update(Pod pod) throws Exception {
    Context context = vertx.getOrCreateContext();
    CompletableFuture<Object[]> done = new CompletableFuture<>();
    context.runOnContext(v -> PodUpdates.update(vertx, client, pod)
        .onComplete(ar -> done.complete(new Object[] {ar.succeeded() ? ar.result() : ar.cause(), Vertx.currentContext() == context})));
    return done.get(30, TimeUnit.SECONDS);
  }

  @Test
  void aReadGivesThePodAsStoredOrNothingOnTheCallersContext() throws Exception {
    create("reads-ok");
    Context context = vertx.getOrCreateContext();
    CompletableFuture<Object[]> done = new CompletableFuture<>();
    context.runOnContext(v -> PodUpdates.get(vertx, client, "default", "reads-ok")
        .compose(found -> PodUpdates.get(vertx, client, "default", "reads-none").map(none -> new Object[] {found, none, Vertx.currentContext() == context}))
        .onComplete(ar -> done.complete(ar.succeeded() ? ar.result() : new Object[] {ar.cause()})));
    Object[] r = done.get(30, TimeUnit.SECONDS);
    assertThat(r).as("both reads answered").hasSize(3);
    assertThat(((java.util.Optional<?>) r[0]).map(p -> ((Pod) p).getMetadata().getResourceVersion()))
        .contains(client.pods().inNamespace("default").withName("reads-ok").get().getMetadata().getResourceVersion());
    assertThat((java.util.Optional<?>) r[1]).as("a pod that does not exist").isEmpty();
    assertThat(r[2]).as("answered on the caller's context").isEqualTo(true);
  }

  @Test
  void anUpdateOnTheCurrentVersionIsWrittenAndAnsweredOnTheCallersContext() throws Exception {
    Pod pod = create("updates-ok");
    Pod changed = new PodBuilder(pod).editMetadata().addToLabels("claimed", "yes").endMetadata().editSpec().editFirstContainer()
        .withImage("example/app:2").endContainer().endSpec().build();
    Object[] r = update(changed);
    assertThat(r[0]).isInstanceOf(Pod.class);
    Pod written = (Pod) r[0];
    assertThat(r[1]).as("answered on the caller's context").isEqualTo(true);
    assertThat(written.getMetadata().getResourceVersion()).isNotEqualTo(pod.getMetadata().getResourceVersion());
    Pod stored = client.pods().inNamespace("default").withName("updates-ok").get();
    assertThat(stored.getMetadata().getLabels()).containsEntry("claimed", "yes");
    assertThat(stored.getSpec().getContainers().get(0).getImage()).isEqualTo("example/app:2");
    assertThat(written.getSpec().getContainers().get(0).getImage()).as("the answer is the pod as written").isEqualTo("example/app:2");
  }

  @Test
  void anUpdateOnAStaleVersionIsAConflictAndChangesNothing() throws Exception {
    Pod pod = create("updates-stale");
    client.pods().inNamespace("default").resource(new PodBuilder(pod).editMetadata().addToLabels("other", "writer").endMetadata().build()).update();
    Object[] r = update(new PodBuilder(pod).editMetadata().addToLabels("claimed", "yes").endMetadata().build());
    assertThat(r[0]).isInstanceOf(KubernetesClientException.class);
    assertThat(KubeErrors.conflict((Throwable) r[0])).as("%s", r[0]).isTrue();
    assertThat(r[1]).isEqualTo(true);
    assertThat(client.pods().inNamespace("default").withName("updates-stale").get().getMetadata().getLabels())
        .containsEntry("other", "writer").doesNotContainKey("claimed");
  }

  @Test
  void anUpdateOfAPodThatIsGoneIsNotFound() throws Exception {
    Pod pod = create("updates-gone");
    client.pods().inNamespace("default").withName("updates-gone").withGracePeriod(0).delete();
    client.pods().inNamespace("default").withName("updates-gone").waitUntilCondition(p -> p == null, 30, TimeUnit.SECONDS);
    Object[] r = update(pod);
    assertThat(KubeErrors.gone((Throwable) r[0])).as("%s", r[0]).isTrue();
    assertThat(client.pods().inNamespace("default").withName("updates-gone").get()).isNull();
  }

  /** The write carries the client's credentials, as its own calls do (a real API server answers 401 without them). */
  @Test
  void theUpdateCarriesTheClientsCredentials() throws Exception {
    CompletableFuture<String> seen = new CompletableFuture<>();
    io.vertx.core.http.HttpServer api = vertx.createHttpServer().requestHandler(req -> {
      seen.complete(req.method() + " " + req.path() + " " + req.getHeader("Authorization"));
      req.response().setStatusCode(409).putHeader("content-type", "application/json")
          .end("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Conflict\",\"code\":409,\"message\":\"changed\"}");
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    Config config = new ConfigBuilder().withMasterUrl("http://127.0.0.1:" + api.actualPort()).withOauthToken("bench-token-123")
        .withRequestTimeout(5_000).build();
    try (KubernetesClient withToken = new KubernetesClientBuilder().withConfig(config).build()) {
      Pod pod = new PodBuilder().withNewMetadata().withName("auth").withNamespace("default").withResourceVersion("7").endMetadata().build();
      Throwable e = PodUpdates.update(vertx, withToken, pod).toCompletionStage().toCompletableFuture().handle((p, t) -> t).get(30, TimeUnit.SECONDS);
      assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo("PUT /api/v1/namespaces/default/pods/auth Bearer bench-token-123");
      assertThat(KubeErrors.conflict(e)).as("%s", e).isTrue();
    } finally {
      api.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void anUnreachableApiServerFailsTheUpdateWithoutAVerdict() throws Exception {
    Config config = new ConfigBuilder().withMasterUrl("http://127.0.0.1:1").withRequestTimeout(2_000).withRequestRetryBackoffLimit(0).build();
    try (KubernetesClient unreachable = new KubernetesClientBuilder().withConfig(config).build()) {
      Pod pod = create("updates-unreachable");
      Future<Pod> f = PodUpdates.update(vertx, unreachable, pod);
      Throwable e = f.failed() ? f.cause() : f.toCompletionStage().toCompletableFuture().handle((p, t) -> t).get(30, TimeUnit.SECONDS);
      assertThat(e).isInstanceOf(KubernetesClientException.class);
      assertThat(KubeErrors.conflict(e) || KubeErrors.gone(e)).as("neither a lost race nor a missing pod: %s", e).isFalse();
    }
  }

  /**
   * Taking the last finalizer off a pod being deleted lets the API server remove it: the update
   * succeeded, whether or not the answer still holds the object. (It used to fail without a
   * cause, so the reconciler logged a bare NoStackTraceThrowable for every pod it removed and did
   * not count the removal.)
   */
  @Test
  void takingTheLastFinalizerOffAPodBeingDeletedSucceeds() throws Exception {
    Pod pod = create("updates-finalized");
    client.pods().inNamespace("default").resource(new PodBuilder(pod).editMetadata().addToFinalizers("example.com/hold")
        .endMetadata().build()).update();
    client.pods().inNamespace("default").withName("updates-finalized").delete();
    Pod deleting = client.pods().inNamespace("default").withName("updates-finalized").get();
    assertThat(deleting.getMetadata().getDeletionTimestamp()).as("held by the finalizer").isNotNull();

    // (The simulated node writes the pod's status as it stops its containers: on a 409, again.)
    Object[] r = sh.navix.agentbox.devcluster.Await.until("the finalizer taken off", java.time.Duration.ofSeconds(10), () -> {
      Pod current = client.pods().inNamespace("default").withName("updates-finalized").get();
      try {
        Object[] attempt = update(new PodBuilder(current).editMetadata().withFinalizers().endMetadata().build());
        return attempt[0] instanceof KubernetesClientException k && k.getCode() == 409 ? null : attempt;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(r[0]).as("the update's outcome").isInstanceOf(Pod.class);
    assertThat(((Pod) r[0]).getMetadata().getName()).isEqualTo("updates-finalized");
    assertThat(r[1]).as("answered on the caller's context").isEqualTo(true);
    assertThat(client.pods().inNamespace("default").withName("updates-finalized").get()).as("gone once nothing holds it").isNull();
  }
}
