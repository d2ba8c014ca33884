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
 * A warm pod's random name is already taken (five characters from 27: a pool of thousands meets
 * one now and then, as generateName does): the API server answers 409 AlreadyExists, and the pool
 * tries another name at once. That is no refusal: before, a pass that created one pod and met a
 * taken name backed off as if the API server had refused the pool.
 */
class TakenPodNamesTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;
  static HttpServer taken;
  /** Pod creates still to be answered "already exists". */
  static final AtomicInteger toRefuse = new AtomicInteger();
  /** The names answered "already exists". */
  static final List<String> refusedNames = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startGateway() throws Exception {
    template("names", "example/idle:1", "example/sandbox:1");
    // Answers a pod create as the API server does when a pod of that name exists.
    taken = fakeApiServer(req -> req.body().onSuccess(body -> {
      String name = new JsonObject(body).getJsonObject("metadata").getString("name");
      refusedNames.add(name);
      req.response().setStatusCode(409).putHeader("content-type", "application/json")
          .end("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"AlreadyExists\",\"code\":409,"
              + "\"message\":\"pods \\\"" + name + "\\\" already exists\",\"details\":{\"name\":\"" + name + "\",\"kind\":\"pods\"}}");
    }));
    // A refusal would keep the pool waiting for an hour: only a retry under another name fills it.
    gateway = leadingWithPodCreatesTo("gw-names", home.resolve("gw"), taken, firstOf(toRefuse), o -> o.createBackoff = Duration.ofHours(1));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
    taken.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aTakenNameIsRetriedUnderAnotherAtOnce() {
    toRefuse.set(2);
    pool("one-pod", "names", 1, null);
    List<Pod> idle = awaitIdleReady("one-pod", 1);
    assertThat(refusedNames).as("two names were taken").hasSize(2);
    assertThat(idle).extracting(p -> p.getMetadata().getName()).doesNotContainAnyElementsOf(refusedNames)
        .allMatch(n -> n.startsWith("one-pod-"));
    assertThat(pods("one-pod")).as("one pod for one replica").hasSize(1);
  }
}
