package sh.navix.agentbox.devcluster.impl;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The version a watch from a resourceVersion compares with: the object's own, wherever its metadata is. */
class StoredResourceVersionTest {
  @Test
  void readsMetadataResourceVersionOnly() {
    assertThat(IndexedCrudDispatcher.resourceVersion("{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"42\"}}"))
        .isEqualTo(42);
    // A resourceVersion elsewhere (an object reference in the spec) is not the object's.
    assertThat(IndexedCrudDispatcher.resourceVersion(
        "{\"spec\":{\"ref\":{\"resourceVersion\":\"99\"},\"list\":[1,{\"a\":2}]},\"metadata\":{\"labels\":{\"resourceVersion\":\"7\"},\"resourceVersion\":\"5\"}}"))
        .isEqualTo(5);
    assertThat(IndexedCrudDispatcher.resourceVersion("{\"metadata\":{\"name\":\"a\"}}")).isZero();
    assertThat(IndexedCrudDispatcher.resourceVersion("{\"metadata\":{\"resourceVersion\":\"v3\"}}")).as("not a number").isZero();
    assertThat(IndexedCrudDispatcher.resourceVersion("[]")).isZero();
  }
}
