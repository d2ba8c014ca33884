package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API server says it created a pod, but the informer never sees it: it was deleted before
 * the watch delivered it (a watch gap, someone else's delete). No pod event will ever come for
 * it, so after {@code createdUnseenLimit} it stops counting and the pool replaces it, instead of
 * staying one pod short for good.
 */
class UnseenPodsTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;
  static HttpServer vanishing;
  /** Pod creates still to be acknowledged without a pod. */
  static final AtomicInteger toLose = new AtomicInteger();
  static final List<String> lostNames = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startGateway() throws Exception {
    template("unseen", "example/idle:1", "example/sandbox:1");
    // Answers a pod create as the API server does (201 with the pod), but nothing is stored.
    vanishing = fakeApiServer(req -> req.body().onSuccess(body -> {
      JsonObject pod = new JsonObject(body);
      lostNames.add(pod.getJsonObject("metadata").getString("name"));
      pod.getJsonObject("metadata").put("uid", "00000000-0000-0000-0000-000000000001").put("resourceVersion", "1")
          .put("creationTimestamp", "2026-12-06T00:00:00Z");
      req.response().setStatusCode(201).putHeader("content-type", "application/json").end(pod.encode());
    }));
    gateway = leadingWithPodCreatesTo("gw-unseen", home.resolve("gw"), vanishing, firstOf(toLose), o -> o.createdUnseenLimit = Duration.ofSeconds(1));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
    vanishing.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aCreatedPodNeverSeenIsReplaced() {
    toLose.set(1);
    pool("lossy", "unseen", 2, null);
    List<Pod> idle = awaitIdleReady("lossy", 2);
    assertThat(lostNames).as("one create was acknowledged and lost").hasSize(1);
    assertThat(idle).extracting(p -> p.getMetadata().getName()).doesNotContainAnyElementsOf(lostNames);
    assertThat(pods("lossy")).as("two pods for two replicas").hasSize(2);
  }
}
