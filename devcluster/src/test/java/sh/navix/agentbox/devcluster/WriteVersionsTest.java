package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a write does to an object's resourceVersion and generation on the embedded API server, as
 * on a real one: a write that changes nothing keeps the version; any change gets a new one; only
 * a change outside metadata and status (the spec) raises the generation, which is what a pool's
 * {@code status.observedGeneration} follows.
 */
class WriteVersionsTest extends DevClusterTestBase {
  static final ResourceDefinitionContext POOLS = new ResourceDefinitionContext.Builder()
      .withGroup("agents.navix.sh").withVersion("v1alpha1").withKind("SandboxPool").withPlural("sandboxpools").withNamespaced(true).build();

  record Versions(String resourceVersion, long generation) {
    static Versions of(GenericKubernetesResource r) {
      return new Versions(r.getMetadata().getResourceVersion(), r.getMetadata().getGeneration());
    }
  }

  @Test
  void aWriteThatChangesNothingKeepsItsVersionAndOnlyASpecChangeRaisesTheGeneration() {
    var pools = client.genericKubernetesResources(POOLS).inNamespace("default");
    GenericKubernetesResource pool = new GenericKubernetesResource();
    pool.setApiVersion("agents.navix.sh/v1alpha1");
    pool.setKind("SandboxPool");
    pool.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("versions").withNamespace("default").build());
    pool.setAdditionalProperty("spec", Map.of("replicas", 2, "idleImage", "example/idle:1"));
    Versions created = Versions.of(pools.resource(pool).create());
    assertThat(created.generation()).isEqualTo(1);

    // The same object written back: nothing changed.
    Versions same = Versions.of(pools.resource(pools.withName("versions").get()).update());
    assertThat(same).isEqualTo(created);

    // Metadata alone: a new version, the same generation.
    Versions labelled = Versions.of(pools.withName("versions").patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"metadata\":{\"labels\":{\"team\":\"a\"},\"annotations\":{\"note\":\"x\"}}}"));
    assertThat(labelled.resourceVersion()).isNotEqualTo(created.resourceVersion());
    assertThat(labelled.generation()).isEqualTo(1);

    // Status alone (through its subresource): a new version, the same generation.
    GenericKubernetesResource withStatus = pools.withName("versions").get();
    withStatus.setAdditionalProperty("status", Map.of("idleReplicas", 2));
    Versions statusWritten = Versions.of(pools.resource(withStatus).updateStatus());
    assertThat(statusWritten.resourceVersion()).isNotEqualTo(labelled.resourceVersion());
    assertThat(statusWritten.generation()).isEqualTo(1);

    // A merge patch that sets what is already there changes nothing. (Before the object has a
    // status, fabric8's patch writes a null one, which is a change.)
    Versions samePatched = Versions.of(pools.withName("versions").patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"spec\":{\"replicas\":2},\"metadata\":{\"labels\":{\"team\":\"a\"}}}"));
    assertThat(samePatched).isEqualTo(statusWritten);

    // The spec: a new version and the next generation, by a patch, by a write of the whole object
    // (a field taken away counts as much as one changed), and by a field added beside the spec.
    Versions scaled = Versions.of(pools.withName("versions").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":3}}"));
    assertThat(scaled.resourceVersion()).isNotEqualTo(statusWritten.resourceVersion());
    assertThat(scaled.generation()).isEqualTo(2);
    GenericKubernetesResource smaller = pools.withName("versions").get();
    smaller.setAdditionalProperty("spec", Map.of("replicas", 3));
    Versions rewritten = Versions.of(pools.resource(smaller).update());
    assertThat(rewritten.generation()).isEqualTo(3);
    Versions extra = Versions.of(pools.withName("versions").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"extra\":{\"a\":1}}"));
    assertThat(extra.generation()).isEqualTo(4);
    assertThat(pools.withName("versions").get().getMetadata().getGeneration()).isEqualTo(4);

    // Each version is the object's latest: a write carrying an older one is refused.
    GenericKubernetesResource stale = pools.withName("versions").get();
    stale.getMetadata().setResourceVersion(rewritten.resourceVersion());
    stale.setAdditionalProperty("spec", Map.of("replicas", 7));
    var conflict = org.assertj.core.api.Assertions.catchThrowableOfType(io.fabric8.kubernetes.client.KubernetesClientException.class,
        () -> pools.resource(stale).update());
    assertThat(conflict.getCode()).isEqualTo(409);
    assertThat(pools.withName("versions").get().get("spec", "replicas").toString()).isEqualTo("3");
    pools.withName("versions").delete();
  }
}
