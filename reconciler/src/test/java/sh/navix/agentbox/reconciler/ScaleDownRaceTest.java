package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;

/**
 * An idle pod chosen for scale-down is claimed at the last moment: after the reconciler decided to
 * delete it (its scale-down window over), before the delete reached the API server. The delete
 * must not take the new sandbox with it. The claim is made from inside the reconciler's HTTP client, just before the
 * DELETE is sent, so the moment is the same on every run.
 */
class ScaleDownRaceTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;
  /** Pool whose next pod DELETE is preceded by a claim of that pod; null once done. */
  static final AtomicReference<String> claimBeforeDelete = new AtomicReference<>();
  static final AtomicReference<String> claimedPod = new AtomicReference<>();

  @BeforeAll
  static void startGateway() throws Exception {
    template("race", "example/idle:1", "example/sandbox:1");
    Interceptor lateClaim = new Interceptor() {
      @Override
      public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        String pool = claimBeforeDelete.get();
        String path = request.uri().getPath();
        if (pool != null && "DELETE".equals(request.method()) && path.contains("/pods/" + pool + "-")
            && claimBeforeDelete.compareAndSet(pool, null)) {
          String name = path.substring(path.lastIndexOf('/') + 1);
          claim(pod(name), "sbxlate1", "example/sandbox:2", null, null);
          claimedPod.set(name);
        }
      }
    };
    gateway = leading(new Process("gw-race", home.resolve("gw"), http -> http.addOrReplaceInterceptor("late-claim", lateClaim), o -> {}));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
  }

  @Test
  void aPodClaimedJustBeforeItsScaleDownDeleteKeepsItsSandbox() {
    pool("shrink", "race", 2, null);
    awaitIdleReady("shrink", 2);
    claimBeforeDelete.set("shrink");
    scale("shrink", 1);

    String claimed = await("the late claim made", Duration.ofSeconds(30), claimedPod::get);
    // The pool still ends at one pod: the claimed one, which is what the scale-down left.
    List<Pod> left = awaitPods("shrink", "one pod left", ps -> ps.size() == 1 && !Pods.deleting(ps.get(0)));
    Pod kept = left.get(0);
    assertThat(kept.getMetadata().getName()).isEqualTo(claimed);
    assertThat(Pods.sandboxId(kept)).isEqualTo("sbxlate1");
    Pod running = awaitPod(claimed, "running, protected again", p -> Pods.inPhase(p, SandboxPhase.RUNNING)
        && Pods.hasFinalizer(p, Finalizers.SANDBOX_PROTECTION));
    assertThat(Pods.deleting(running)).isFalse();
  }
}
