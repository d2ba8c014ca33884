package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The embedded API server finds one object by its kind, namespace and name whatever else changed
 * about it (labels, status, other objects of the same name), as a real API server does: reads,
 * compare-and-swap writes, patches, creates and deletes of named objects.
 */
class NamedObjectLookupTest extends DevClusterTestBase {

  @Test
  void anObjectWhoseLabelsChangedIsStillFoundByNameAndOnlyUnderItsNewLabels() {
    var pods = client.pods().inNamespace("default");
    pods.resource(pod("relabelled", "default", Map.of("phase", "idle"))).create();

    // The simulated node writes the new pod's status meanwhile: read, change, write until no race.
    Pod updated = await("relabelled to starting", java.time.Duration.ofSeconds(10), () -> {
      Pod current = pods.withName("relabelled").get();
      current.getMetadata().setLabels(Map.of("phase", "starting"));
      try {
        return pods.resource(current).update();
      } catch (KubernetesClientException e) {
        return e.getCode() == 409 ? null : org.assertj.core.api.Assertions.fail("unexpected", e);
      }
    });
    assertThat(pods.withName("relabelled").get().getMetadata().getLabels()).containsEntry("phase", "starting");

    Pod patched = pods.withName("relabelled").patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"metadata\":{\"labels\":{\"phase\":\"running\"}}}");
    assertThat(patched.getMetadata().getResourceVersion()).isNotEqualTo(updated.getMetadata().getResourceVersion());
    assertThat(pods.withName("relabelled").get().getMetadata().getLabels()).containsEntry("phase", "running");
    assertThat(pods.withLabel("phase", "running").list().getItems()).extracting(p -> p.getMetadata().getName()).contains("relabelled");
    assertThat(pods.withLabel("phase", "idle").list().getItems()).extracting(p -> p.getMetadata().getName()).doesNotContain("relabelled");
    assertThat(pods.withLabel("phase", "starting").list().getItems()).extracting(p -> p.getMetadata().getName()).doesNotContain("relabelled");

    // A write that carries the version from before the patch lost the race: 409, nothing changed.
    updated.getMetadata().setLabels(Map.of("phase", "stopping"));
    var conflict = catchThrowableOfType(KubernetesClientException.class, () -> pods.resource(updated).update());
    assertThat(conflict.getCode()).isEqualTo(409);
    assertThat(pods.withName("relabelled").get().getMetadata().getLabels()).containsEntry("phase", "running");

    pods.withName("relabelled").delete();
    await("relabelled pod gone", java.time.Duration.ofSeconds(10), () -> pods.withName("relabelled").get() == null ? true : null);
    var missing = catchThrowableOfType(KubernetesClientException.class, () -> pods.resource(updated).update());
    assertThat(missing.getCode()).isEqualTo(404);
  }

  @Test
  void objectsOfOneNameInOtherNamespacesAndKindsAreKeptApart() {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("elsewhere").endMetadata().build()).create();
    client.pods().inNamespace("default").resource(pod("twin", "default", Map.of("home", "default"))).create();
    client.pods().inNamespace("elsewhere").resource(pod("twin", "elsewhere", Map.of("home", "elsewhere"))).create();
    client.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("twin").endMetadata()
        .addToData("kind", "configmap").build()).create();

    assertThat(client.pods().inNamespace("default").withName("twin").get().getMetadata().getLabels()).containsEntry("home", "default");
    assertThat(client.pods().inNamespace("elsewhere").withName("twin").get().getMetadata().getLabels()).containsEntry("home", "elsewhere");
    assertThat(client.configMaps().inNamespace("default").withName("twin").get().getData()).containsEntry("kind", "configmap");

    // A second create of a name already taken is refused; the first object stays as it was.
    var duplicate = catchThrowableOfType(KubernetesClientException.class,
        () -> client.pods().inNamespace("elsewhere").resource(pod("twin", "elsewhere", Map.of("home", "again"))).create());
    assertThat(duplicate.getCode()).isEqualTo(409);

    client.pods().inNamespace("elsewhere").withName("twin").withGracePeriod(0).delete();
    await("twin in elsewhere gone", java.time.Duration.ofSeconds(10),
        () -> client.pods().inNamespace("elsewhere").withName("twin").get() == null ? true : null);
    assertThat(client.pods().inNamespace("default").withName("twin").get()).as("the other namespace's twin").isNotNull();
    assertThat(client.configMaps().inNamespace("default").withName("twin").get()).as("the config map of the same name").isNotNull();
  }

  private static Pod pod(String name, String namespace, Map<String, String> labels) {
    return new PodBuilder().withNewMetadata().withName(name).withNamespace(namespace).withLabels(labels).endMetadata()
        .withNewSpec().addNewContainer().withName("main").withImage("example/idle:1").endContainer().endSpec().build();
  }
}
