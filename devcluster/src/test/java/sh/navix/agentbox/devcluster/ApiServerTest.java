package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
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

  @Test
  void writtenKubeconfigReachesTheServer(@TempDir Path dir) throws Exception {
    createPod("kc", "example/app:1", List.of());
    Path file = cluster.writeKubeconfig(dir.resolve("nested/kubeconfig"));
    try (KubernetesClient other = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(file))).build()) {
      assertThat(other.getMasterUrl().toString()).startsWith(cluster.masterUrl());
      assertThat(other.pods().inNamespace("default").withName("kc").get()).isNotNull();
    }
  }
}
