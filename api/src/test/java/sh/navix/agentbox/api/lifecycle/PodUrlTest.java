package sh.navix.agentbox.api.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.utils.URLUtils;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The claim write's URL is the one fabric8 builds, for every shape of API server address. */
class PodUrlTest {
  @Test
  void sameAsFabric8sJoin() {
    for (String master : List.of("http://127.0.0.1:6443", "http://127.0.0.1:6443/", "https://api.example.com:443/",
        "https://rancher.example.com/k8s/clusters/c-m-abc12", "https://rancher.example.com/k8s/clusters/c-m-abc12/")) {
      for (String[] pod : new String[][] {{"default", "demo-x7k2p"}, {"team-a", "pool.with.dots-b9q4z"}}) {
        assertThat(PodUpdates.podUrl(master, pod[0], pod[1])).as(master)
            .isEqualTo(URLUtils.join(master, "api", "v1", "namespaces", pod[0], "pods", pod[1]))
            .endsWith("/api/v1/namespaces/" + pod[0] + "/pods/" + pod[1]);
      }
    }
  }
}
