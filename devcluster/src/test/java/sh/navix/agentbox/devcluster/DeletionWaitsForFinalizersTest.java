package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import java.net.ConnectException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Deleting a pod stops its containers at once, but the object stays until its finalizers are removed. */
class DeletionWaitsForFinalizersTest extends DevClusterTestBase {

  @Test
  void podWithFinalizerStaysUntilTheFinalizerIsRemoved() throws Exception {
    createPod("guarded", "example/app:1", List.of("example.com/guard"));
    Pod running = awaitReady("guarded", "example/app:1");
    String whoami = "http://" + running.getStatus().getPodIP() + ":8080/whoami";
    assertThat(http("GET", whoami, null).statusCode()).isEqualTo(200);

    client.pods().inNamespace("default").withName("guarded").delete();
    Pod terminating = await("deletionTimestamp", Duration.ofSeconds(10), () -> {
      Pod p = get("guarded");
      return p != null && p.getMetadata().getDeletionTimestamp() != null ? p : null;
    });
    assertThat(terminating.getMetadata().getFinalizers()).containsExactly("example.com/guard");
    await("runtime stopped", Duration.ofSeconds(10), () -> {
      try {
        http("GET", whoami, null);
        return null;
      } catch (ConnectException e) {
        return true;
      } catch (Exception e) {
        return null;
      }
    });
    assertThat(get("guarded")).as("still present while the finalizer is on").isNotNull();

    client.pods().inNamespace("default").withName("guarded").edit(p -> {
      p.getMetadata().setFinalizers(List.of());
      return p;
    });
    await("pod gone", Duration.ofSeconds(10), () -> get("guarded") == null ? true : null);
  }

  @Test
  void podWithoutFinalizersGoesAway() {
    createPod("plain", "example/app:1", List.of());
    awaitReady("plain", "example/app:1");
    client.pods().inNamespace("default").withName("plain").delete();
    await("pod gone", Duration.ofSeconds(10), () -> get("plain") == null ? true : null);
  }
}
