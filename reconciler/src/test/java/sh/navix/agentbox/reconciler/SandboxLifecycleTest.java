package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxTemplate;
import sh.navix.agentbox.api.crd.SandboxTemplateSpec;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.api.model.SandboxStatus;

/** A sandbox's whole life on a warm pool, with one gateway process leading. */
class SandboxLifecycleTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;
  static final List<Sandbox> running = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startGateway() throws Exception {
    template("life", "example/idle:1", "example/sandbox:1");
    gateway = new Process("gw-1", home.resolve("gw-1"));
    gateway.vertx.eventBus().<Bus.SandboxRunning>consumer(Bus.SANDBOX_RUNNING, m -> running.add(m.body().sandbox()));
    await("leadership", Duration.ofSeconds(10), () -> gateway.reconcilers.isLeader() ? true : null);
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
  }

  @Test
  void poolFromTemplateNameGetsWarmIdlePods() {
    pool("warm", "life", 3, "2m");
    List<Pod> pods = awaitIdleReady("warm", 3);
    for (Pod p : pods) {
      assertThat(p.getMetadata().getName()).matches("warm-[a-z0-9]{5}");
      assertThat(p.getMetadata().getLabels())
          .containsEntry(Labels.SANDBOX_POOL, "warm")
          .containsEntry(Labels.SANDBOX_PHASE, "idle")
          .containsEntry(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER);
      assertThat(p.getMetadata().getFinalizers()).containsExactly(Finalizers.SANDBOX_PROTECTION);
      assertThat(p.getMetadata().getOwnerReferences()).singleElement()
          .satisfies(o -> assertThat(o.getKind()).isEqualTo("SandboxPool"))
          .satisfies(o -> assertThat(o.getName()).isEqualTo("warm"));
      assertThat(Pods.specImage(p)).isEqualTo("example/idle:1");
    }
    var pool = await("pool Ready", Duration.ofSeconds(10), () -> {
      var p = getPool("warm");
      return p.getStatus() != null && p.getStatus().getPhase() == sh.navix.agentbox.api.crd.SandboxPoolPhase.Ready ? p : null;
    });
    assertThat(pool.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("example/sandbox:1");
    assertThat(pool.getMetadata().getAnnotations()).containsEntry(Annotations.POOL_TEMPLATE_NAME, "life")
        .containsEntry(Annotations.POOL_TEMPLATE_VERSION, "v1");
    assertThat(pool.getStatus().getIdleReplicas()).isEqualTo(3);
    assertThat(pool.getStatus().getSelector()).isEqualTo("agentbox.navix.sh/sandbox-pool=warm");
    assertThat(pool.getStatus().getPhaseSelectors()).containsEntry("idle", "agentbox.navix.sh/sandbox-pool=warm,agentbox.navix.sh/sandbox-phase=idle");
    assertThat(pool.getStatus().getObservedGeneration()).isEqualTo(pool.getMetadata().getGeneration());
    assertThat(pool.getStatus().getConditions()).extracting(c -> c.getType() + "=" + c.getStatus() + "/" + c.getReason())
        .containsExactlyInAnyOrder("Available=True/IdlePodsAvailable", "Scaling=False/ReplicasReady", "Degraded=False/AllPodsHealthy");
  }

  @Test
  void claimRunReleaseRecyclesThePodWithAFreshContainer() throws Exception {
    pool("cycle", "life", 1, null);
    Pod idle = awaitIdleReady("cycle", 1).get(0);
    String name = idle.getMetadata().getName();
    String whoami = "http://" + idle.getStatus().getPodIP() + ":8080";

    claim(idle, "sbxcycle1", "example/sandbox:2", null, null);
    Pod run = awaitPod(name, "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    assertThat(run.getMetadata().getAnnotations()).containsKey(Annotations.STARTED_AT);
    assertThat(Pods.containerId(run)).isNotNull();
    await("SANDBOX_RUNNING event", Duration.ofSeconds(5), () -> running.stream().anyMatch(s -> s.sandboxId().equals("sbxcycle1")) ? true : null);
    JsonObject boot = new JsonObject(http("GET", whoami + "/whoami", null).body());
    assertThat(boot.getString("image")).isEqualTo("example/sandbox:2");
    assertThat(http("PUT", whoami + "/state/secret", "of sandbox 1").statusCode()).isBetween(200, 204);

    Object reply = gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxcycle1")).await(10, TimeUnit.SECONDS).body();
    assertThat(((Sandbox) reply).status()).isEqualTo(SandboxStatus.STOPPING);

    Pod recycled = awaitPod(name, "idle again", p -> Pods.inPhase(p, SandboxPhase.IDLE) && Pods.ready(p));
    assertThat(recycled.getMetadata().getLabels()).doesNotContainKeys(Labels.SANDBOX_ID, Labels.TEAM, Labels.USER, "example.com/run");
    assertThat(recycled.getMetadata().getAnnotations()).doesNotContainKeys(Annotations.SANDBOX_ID, Annotations.CLAIMED_AT,
        Annotations.STARTED_AT, Annotations.STOP_REASON, Annotations.TERMINATED_AT, Annotations.RUNNING_IMAGES,
        Annotations.CONTAINER_ID, Annotations.SANDBOX_METADATA, Annotations.MANAGED_LABEL_KEYS, Annotations.MANAGED_ANNOTATION_KEYS,
        "example.com/note");
    assertThat(Pods.specImage(recycled)).isEqualTo("example/idle:1");
    assertThat(Pods.containerId(recycled)).isNotEqualTo(Pods.containerId(run));
    JsonObject after = new JsonObject(http("GET", whoami + "/whoami", null).body());
    assertThat(after.getString("image")).isEqualTo("example/idle:1");
    assertThat(after.getString("bootId")).isNotEqualTo(boot.getString("bootId"));
    assertThat(http("GET", whoami + "/state/secret", null).statusCode()).as("state of the previous sandbox").isEqualTo(404);

    Sandbox record = await("history record", Duration.ofSeconds(5),
        () -> gateway.record("sbxcycle1"));
    assertThat(record.status()).isEqualTo(SandboxStatus.COMPLETED);
    assertThat(record.poolName()).isEqualTo("cycle");
    assertThat(record.podName()).isEqualTo(name);
    assertThat(record.team()).isEqualTo("team-a");
    assertThat(record.user()).isEqualTo("alice");
    assertThat(record.metadata()).containsEntry("owner", "test");
    assertThat(record.containerImages()).containsEntry("sandbox", "example/sandbox:2");
    assertThat(record.containerId()).isEqualTo(Pods.containerId(run));
    assertThat(record.nodeName()).isEqualTo("dev-node-1");
    assertThat(record.cpu()).isEqualTo("250m");
    assertThat(record.memory()).isEqualTo("256Mi");
    assertThat(record.claimedAt()).isNotNull();
    assertThat(record.startedAt()).isNotNull();
    assertThat(record.terminatedAt()).isNotNull();
    assertThat(record.recycledAt()).isNotNull();
  }

  /**
   * A sandbox may swap any container's image (containerImages); its release sets each one back,
   * so the next sandbox on the pod gets the template's sidecar, restarted, not this one's.
   */
  @Test
  void aSidecarTheSandboxSwappedGoesBackToTheTemplateImageOnRelease() throws Exception {
    withSidecarTemplate("two");
    pool("sidecar", "two", 1, null);
    Pod idle = awaitIdleReady("sidecar", 1).get(0);
    String name = idle.getMetadata().getName();

    Pod claimed = PodTransitions.claim(idle, new PodTransitions.ClaimSpec("sbxside1",
        Map.of("sandbox", "example/sandbox:2", "side", "example/side:2"), Map.of(), Map.of(), Map.of(), null, null, List.of(),
        null, null, Instant.now()));
    admin.pods().inNamespace("default").resource(claimed).update();
    Pod run = awaitPod(name, "running with both images", p -> Pods.inPhase(p, SandboxPhase.RUNNING)
        && "example/side:2".equals(status(p, "side").getImage()));
    gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxside1")).await(10, TimeUnit.SECONDS);

    Pod recycled = awaitPod(name, "idle again", p -> Pods.inPhase(p, SandboxPhase.IDLE) && Pods.ready(p));
    Container side = recycled.getSpec().getContainers().stream().filter(c -> c.getName().equals("side")).findFirst().orElseThrow();
    assertThat(side.getImage()).as("the sidecar's image in the spec").isEqualTo("example/side:1");
    assertThat(status(recycled, "side").getImage()).as("the image the sidecar runs").isEqualTo("example/side:1");
    assertThat(status(recycled, "side").getContainerID()).as("the sidecar restarted").isNotEqualTo(status(run, "side").getContainerID());
    assertThat(Pods.specImage(recycled)).isEqualTo("example/idle:1");
  }

  /**
   * Two replicas that claim for one sandbox at the same moment (an idempotent retry sent to both)
   * each get a pod: the leader keeps the sandbox on the pod claimed first and recycles the other,
   * and the sandbox lives on (no record of it ending).
   */
  @Test
  void aSandboxClaimedOnTwoPodsKeepsTheFirstAndTheOtherGoesBackToIdle() throws Exception {
    pool("dup", "life", 2, null);
    List<Pod> idle = awaitIdleReady("dup", 2);
    Pod one = claim(idle.get(0), "sbxdup1", "example/sandbox:2", null, null);
    Pod two = claim(idle.get(1), "sbxdup1", "example/sandbox:2", null, null);
    // The rule: the earlier claim time, then the lower namespace/name.
    java.util.Comparator<Pod> order = java.util.Comparator.<Pod, Instant>comparing(p -> Pods.time(p, Annotations.CLAIMED_AT).orElseThrow())
        .thenComparing(p -> p.getMetadata().getNamespace() + "/" + p.getMetadata().getName());
    Pod keeper = order.compare(one, two) <= 0 ? one : two;
    Pod other = keeper == one ? two : one;

    awaitPod(other.getMetadata().getName(), "the second holder idle again", p -> Pods.inPhase(p, SandboxPhase.IDLE) && Pods.ready(p));
    Pod kept = awaitPod(keeper.getMetadata().getName(), "the first holder running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    assertThat(Pods.sandboxId(kept)).isEqualTo("sbxdup1");
    assertThat(admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, "sbxdup1").list().getItems()).hasSize(1);
    assertThat(gateway.record("sbxdup1")).as("the sandbox has not ended").isNull();

    gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxdup1")).await(10, TimeUnit.SECONDS);
    Sandbox record = await("history record", Duration.ofSeconds(10), () -> gateway.record("sbxdup1"));
    assertThat(record.status()).isEqualTo(SandboxStatus.COMPLETED);
    assertThat(record.podName()).isEqualTo(keeper.getMetadata().getName());
  }

  /** A sandbox that swaps only a sidecar runs once that sidecar is up on its new image, not before. */
  @Test
  void aSandboxThatSwapsOnlyASidecarRunsOnceTheSidecarRestarted() throws Exception {
    withSidecarTemplate("two-b");
    pool("sideonly", "two-b", 1, null);
    Pod idle = awaitIdleReady("sideonly", 1).get(0);
    Pod claimed = PodTransitions.claim(idle, new PodTransitions.ClaimSpec("sbxside2", Map.of("side", "example/side:2"), Map.of(), Map.of(),
        Map.of(), null, null, List.of(), null, null, Instant.now()));
    admin.pods().inNamespace("default").resource(claimed).update();
    Pod run = awaitPod(idle.getMetadata().getName(), "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    assertThat(status(run, "side").getImage()).as("the sidecar when the sandbox was marked running").isEqualTo("example/side:2");
    assertThat(status(run, "side").getReady()).isTrue();
    gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxside2")).await(10, TimeUnit.SECONDS);
  }

  /** A template whose pods run the sandbox container and a sidecar {@code side} (example/side:1, no ports). */
  private static void withSidecarTemplate(String name) {
    SandboxTemplate t = new SandboxTemplate();
    t.setMetadata(new ObjectMetaBuilder().withName(name).build());
    SandboxTemplateSpec spec = new SandboxTemplateSpec();
    spec.setVersion("v1");
    spec.setIdleImage("example/idle:1");
    spec.setTemplate(new PodTemplateSpecBuilder().withNewSpec()
        .addNewContainer().withName("sandbox").withImage("example/sandbox:1").addNewPort().withName("http").withContainerPort(8080).endPort()
        .endContainer()
        .addNewContainer().withName("side").withImage("example/side:1").endContainer()
        .endSpec().build());
    t.setSpec(spec);
    admin.resource(t).create();
  }

  private static ContainerStatus status(Pod p, String container) {
    return p.getStatus().getContainerStatuses().stream().filter(s -> s.getName().equals(container)).findFirst().orElseThrow();
  }

  @Test
  void releasingTwiceIsNotAnErrorAndUnknownIdsAre404() throws Exception {
    pool("twice", "life", 1, null);
    Pod idle = awaitIdleReady("twice", 1).get(0);
    claim(idle, "sbxtwice1", "example/sandbox:2", null, null);
    awaitPod(idle.getMetadata().getName(), "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxtwice1")).await(10, TimeUnit.SECONDS);
    awaitPod(idle.getMetadata().getName(), "stopping seen", p -> !Pods.inPhase(p, SandboxPhase.RUNNING));
    await("second release answered", Duration.ofSeconds(10), () -> {
      try {
        gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxtwice1")).await(10, TimeUnit.SECONDS);
        return true;
      } catch (Exception e) {
        // 404 once the pod is recycled is fine too: the sandbox is gone either way
        return e.getMessage() != null && e.getMessage().contains("not found") ? true : null;
      }
    });
    Exception unknown = null;
    try {
      gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("nosuchsandbox")).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      unknown = e;
    }
    assertThat(unknown).isInstanceOf(io.vertx.core.eventbus.ReplyException.class);
    assertThat(((io.vertx.core.eventbus.ReplyException) unknown).failureCode()).isEqualTo(404);
  }

  @Test
  void aSandboxOnTheIdleImageIsDeletedNotRecycled() throws Exception {
    pool("same", "life", 1, null);
    Pod idle = awaitIdleReady("same", 1).get(0);
    String name = idle.getMetadata().getName();
    claim(idle, "sbxsame1", null, null, null); // no image: runs the idle image as it is
    awaitPod(name, "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxsame1")).await(10, TimeUnit.SECONDS);

    await("old pod gone", Duration.ofSeconds(20), () -> pod(name) == null ? true : null);
    List<Pod> replaced = awaitIdleReady("same", 1);
    assertThat(replaced.get(0).getMetadata().getName()).isNotEqualTo(name);
    Optional<Sandbox> record = gateway.history.get("sbxsame1").await(5, TimeUnit.SECONDS);
    assertThat(record).get().extracting(Sandbox::status).isEqualTo(SandboxStatus.COMPLETED);
  }

  /**
   * An idle image that cannot start leaves the pool's pods NotReady, counted as unavailable, the
   * pool Degraded: the same pods, not deleted and recreated in a loop.
   */
  @Test
  void idlePodsThatCannotStartStayAndThePoolIsDegraded() throws Exception {
    template("brokenidle", "example/fail-pull-idle:1", "example/sandbox:1");
    pool("brokenidle", "brokenidle", 2, null);
    java.util.Set<String> first = new java.util.HashSet<>(awaitPods("brokenidle", "2 pods", ps -> ps.size() == 2).stream()
        .map(p -> p.getMetadata().getName()).toList());
    await("both pods in image pull back-off, the pool Degraded with 2 unavailable idle pods", Duration.ofSeconds(30), () -> {
      var pool = getPool("brokenidle");
      List<Pod> ps = pods("brokenidle");
      return ps.size() == 2 && ps.stream().allMatch(p -> Pods.firstContainerStatus(p).map(c -> c.getState() != null
              && c.getState().getWaiting() != null && "ImagePullBackOff".equals(c.getState().getWaiting().getReason())).orElse(false))
          && pool.getStatus() != null && Integer.valueOf(2).equals(pool.getStatus().getUnavailableIdleReplicas())
          && pool.getStatus().getConditions() != null
          && pool.getStatus().getConditions().stream().anyMatch(c -> "UnhealthyIdlePods".equals(c.getReason())) ? true : null;
    });
    List<Pod> now = pods("brokenidle");
    assertThat(now).extracting(p -> p.getMetadata().getName()).containsExactlyInAnyOrderElementsOf(first);
    assertThat(now).allMatch(p -> Pods.inPhase(p, SandboxPhase.IDLE) && !Pods.ready(p) && !Pods.deleting(p));
    admin.resources(sh.navix.agentbox.api.crd.SandboxPool.class).inNamespace("default").withName("brokenidle").delete();
  }

  /**
   * A released pod whose idle image does not come back up (here a pull that takes a minute; on a
   * cluster, a hung pull or a kubelet that never restarted the container) is removed once it has
   * been stopping for the stopping timeout, its sandbox on record, and the pool replaces it.
   */
  @Test
  void aPodStillStoppingAfterTheStoppingTimeoutIsRemovedAndReplaced() throws Exception {
    template("slowidle", "example/slow-pull-idle:1", "example/sandbox:1");
    pool("slowidle", "slowidle", 1, null);
    Pod idle = awaitPods("slowidle", "1 pod", ps -> ps.size() == 1).get(0);
    String name = idle.getMetadata().getName();
    // The pod is still settling (finalizer, kubelet status): claim it as a claimer does, again on a 409.
    await("claimed", Duration.ofSeconds(10), () -> {
      try {
        return claim(pod(name), "sbxslowidle1", "example/sandbox:2", null, null);
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() == 409) {
          return null;
        }
        throw e;
      }
    });
    awaitPod(name, "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxslowidle1")).await(10, TimeUnit.SECONDS);
    assertThat(Pods.inPhase(pod(name), SandboxPhase.STOPPING)).as("pulling the idle image again").isTrue();

    List<Pod> replaced = awaitPods("slowidle", "the stopping pod replaced", ps -> ps.size() == 1 && !ps.get(0).getMetadata().getName().equals(name));
    assertThat(Pods.inPhase(replaced.get(0), SandboxPhase.IDLE)).isTrue();
    Sandbox record = await("history record", Duration.ofSeconds(5), () -> gateway.record("sbxslowidle1"));
    assertThat(record.status()).isEqualTo(SandboxStatus.COMPLETED);
    assertThat(record.podName()).isEqualTo(name);
    admin.resources(sh.navix.agentbox.api.crd.SandboxPool.class).inNamespace("default").withName("slowidle").delete();
  }

  @Test
  void imagePullFailureFailsTheSandboxAndReplacesThePod() throws Exception {
    pool("pullfail", "life", 2, null);
    Pod idle = awaitIdleReady("pullfail", 2).get(0);
    String name = idle.getMetadata().getName();
    claim(idle, "sbxpull1", "example/fail-pull:1", null, null);

    await("pod removed", Duration.ofSeconds(20), () -> pod(name) == null ? true : null);
    awaitIdleReady("pullfail", 2);
    Sandbox record = gateway.history.get("sbxpull1").await(5, TimeUnit.SECONDS).orElseThrow();
    assertThat(record.status()).isEqualTo(SandboxStatus.FAILED);
    assertThat(record.failureReason()).isEqualTo("ImagePullBackOff");
    assertThat(record.failureMessage()).contains("example/fail-pull:1");
  }

  @Test
  void crashingSandboxFailsWithItsExitCode() throws Exception {
    pool("crashy", "life", 1, null);
    Pod idle = awaitIdleReady("crashy", 1).get(0);
    claim(idle, "sbxcrash1", "example/crash:1", null, null);
    Sandbox record = await("history record", Duration.ofSeconds(20),
        () -> gateway.record("sbxcrash1"));
    assertThat(record.status()).isEqualTo(SandboxStatus.FAILED);
    assertThat(record.failureReason()).isEqualTo("CrashLoopBackOff");
    assertThat(record.exitCode()).isEqualTo(1);
    await("pod replaced", Duration.ofSeconds(20), () -> pod(idle.getMetadata().getName()) == null ? true : null);
    awaitIdleReady("crashy", 1);
  }

  @Test
  void startupTimeoutFailsTheSandboxAndReplacesThePod() throws Exception {
    pool("slow", "life", 1, "1s");
    Pod idle = awaitIdleReady("slow", 1).get(0);
    claim(idle, "sbxslow1", "example/slow-pull:1", null, null);
    Sandbox record = await("history record", Duration.ofSeconds(20),
        () -> gateway.record("sbxslow1"));
    assertThat(record.status()).isEqualTo(SandboxStatus.FAILED);
    assertThat(record.failureReason()).isEqualTo("StartupTimeout");
    await("pod replaced", Duration.ofSeconds(20), () -> pod(idle.getMetadata().getName()) == null ? true : null);
    awaitIdleReady("slow", 1);
  }

  @Test
  void podStartupTimeoutAnnotationWinsOverThePoolDefault() throws Exception {
    pool("slow2", "life", 1, "10m");
    Pod idle = awaitIdleReady("slow2", 1).get(0);
    claim(idle, "sbxslow2", "example/slow-pull:1", Duration.ofSeconds(1), null);
    Sandbox record = await("history record", Duration.ofSeconds(20),
        () -> gateway.record("sbxslow2"));
    assertThat(record.failureReason()).isEqualTo("StartupTimeout");
  }

  @Test
  void idleTimeoutReleasesAnIdleSandbox() throws Exception {
    pool("idler", "life", 1, null);
    Pod idle = awaitIdleReady("idler", 1).get(0);
    String name = idle.getMetadata().getName();
    claim(idle, "sbxidle1", "example/sandbox:2", null, Duration.ofSeconds(1));
    awaitPod(name, "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    // idle timeout 1 s + flush lag 1/3 s: released without anyone asking
    Pod back = awaitPod(name, "recycled after idle timeout", p -> Pods.inPhase(p, SandboxPhase.IDLE) && Pods.ready(p));
    assertThat(Pods.sandboxId(back)).isNull();
    Sandbox record = gateway.history.get("sbxidle1").await(5, TimeUnit.SECONDS).orElseThrow();
    assertThat(record.status()).isEqualTo(SandboxStatus.COMPLETED);
    assertThat(record.failureReason()).isEqualTo("IdleTimeout");
  }

  @Test
  void sandboxWithoutIdleTimeoutKeepsRunning() throws Exception {
    pool("forever", "life", 1, null);
    Pod idle = awaitIdleReady("forever", 1).get(0);
    String name = idle.getMetadata().getName();
    claim(idle, "sbxforever", "example/sandbox:2", null, null);
    Pod run = awaitPod(name, "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));
    // Past the point where a 1 s idle timeout would have released it (dozens of 100 ms scans and
    // a 2 s resync later) the pod is untouched: same resourceVersion, still running.
    java.time.Instant started = java.time.Instant.parse(Pods.annotation(run, Annotations.STARTED_AT));
    await("3 s past started-at", Duration.ofSeconds(10), () -> java.time.Instant.now().isAfter(started.plusSeconds(4)) ? true : null);
    Pod later = pod(name);
    assertThat(later.getMetadata().getResourceVersion()).isEqualTo(run.getMetadata().getResourceVersion());
    assertThat(later.getMetadata().getLabels()).containsEntry(Labels.SANDBOX_PHASE, "running");
  }

  @Test
  void externallyDeletedRunningSandboxIsRecordedBeforeThePodGoes() throws Exception {
    String name = runningSandbox("kubectl", "sbxdel1");

    admin.pods().inNamespace("default").withName(name).delete(); // kubectl delete pod
    await("pod gone", Duration.ofSeconds(20), () -> pod(name) == null ? true : null);
    Sandbox record = gateway.history.get("sbxdel1").await(5, TimeUnit.SECONDS).orElseThrow();
    assertThat(record.status()).isEqualTo(SandboxStatus.FAILED);
    assertThat(record.failureReason()).isEqualTo("PodDeleted");
    awaitIdleReady("kubectl", 1);
  }

  /** A one-pod pool with a running sandbox on it; returns the pod name. */
  static String runningSandbox(String pool, String sandboxId) {
    pool(pool, "life", 1, null);
    Pod idle = awaitIdleReady(pool, 1).get(0);
    claim(idle, sandboxId, "example/sandbox:2", null, null);
    return awaitPod(idle.getMetadata().getName(), "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING)).getMetadata().getName();
  }

  /** Writes pod status as a kubelet reporting the failure would (JSON Patch on the pod). */
  static void kubeletReports(String pod, String jsonPatch) {
    admin.pods().inNamespace("default").withName(pod)
        .patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON), jsonPatch);
  }

  @Test
  void evictedRunningSandboxFailsAndThePodIsReplaced() throws Exception {
    String name = runningSandbox("evict", "sbxevict1");
    kubeletReports(name, "[{\"op\":\"replace\",\"path\":\"/status/phase\",\"value\":\"Failed\"},"
        + "{\"op\":\"add\",\"path\":\"/status/reason\",\"value\":\"Evicted\"},"
        + "{\"op\":\"add\",\"path\":\"/status/message\",\"value\":\"The node was low on resource: memory.\"}]");
    await("pod replaced", Duration.ofSeconds(20), () -> pod(name) == null ? true : null);
    Sandbox record = gateway.record("sbxevict1");
    assertThat(record.status()).isEqualTo(SandboxStatus.FAILED);
    assertThat(record.failureReason()).isEqualTo("Evicted");
    assertThat(record.failureMessage()).contains("low on resource");
    awaitIdleReady("evict", 1);
  }

  @Test
  void oomKilledSandboxFailsWithExitCode137() throws Exception {
    String name = runningSandbox("oom", "sbxoom1");
    kubeletReports(name, "[{\"op\":\"add\",\"path\":\"/status/containerStatuses/0/lastState\","
        + "\"value\":{\"terminated\":{\"reason\":\"OOMKilled\",\"exitCode\":137}}}]");
    await("pod replaced", Duration.ofSeconds(20), () -> pod(name) == null ? true : null);
    Sandbox record = gateway.record("sbxoom1");
    assertThat(record.status()).isEqualTo(SandboxStatus.FAILED);
    assertThat(record.failureReason()).isEqualTo("OOMKilled");
    assertThat(record.exitCode()).isEqualTo(137);
  }

  @Test
  void idlePodThatFailsIsReplaced() throws Exception {
    pool("badidle", "life", 1, null);
    Pod idle = awaitIdleReady("badidle", 1).get(0);
    String name = idle.getMetadata().getName();
    kubeletReports(name, "[{\"op\":\"replace\",\"path\":\"/status/phase\",\"value\":\"Failed\"}]");
    await("pod replaced", Duration.ofSeconds(20), () -> pod(name) == null ? true : null);
    awaitIdleReady("badidle", 1);
  }
}
