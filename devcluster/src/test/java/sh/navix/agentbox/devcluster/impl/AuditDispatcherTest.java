package sh.navix.agentbox.devcluster.impl;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import sh.navix.agentbox.devcluster.DevCluster.Access;

/** Request paths and methods resolved to request attributes as the API server resolves them. */
class AuditDispatcherTest {
  static Access resource(String verb, String group, String resource, String subresource, String namespace) {
    return new Access("u", verb, group, resource, subresource, namespace, null);
  }

  static Access access(String method, String path, String query) {
    return AuditDispatcher.access("u", method, path, query);
  }

  @Test
  void pathsResolveAsTheApiServerResolvesThem() {
    assertThat(access("GET", "/api/v1/namespaces/a/pods/p/exec", "command=sh&stdout=true")).isEqualTo(resource("get", "", "pods", "exec", "a"));
    assertThat(access("POST", "/api/v1/namespaces/a/pods/p/exec", "")).isEqualTo(resource("create", "", "pods", "exec", "a"));
    assertThat(access("PUT", "/apis/agents.navix.sh/v1alpha1/namespaces/a/sandboxpools/p/status", ""))
        .isEqualTo(resource("update", "agents.navix.sh", "sandboxpools", "status", "a"));
    assertThat(access("GET", "/api/v1/pods", "labelSelector=x&watch=true&resourceVersion=5")).isEqualTo(resource("watch", "", "pods", "", ""));
    assertThat(access("GET", "/api/v1/namespaces/a/pods", "watch=1")).isEqualTo(resource("watch", "", "pods", "", "a"));
    assertThat(access("GET", "/api/v1/namespaces/a/pods", "nowatch=true")).isEqualTo(resource("list", "", "pods", "", "a"));
    assertThat(access("GET", "/api/v1/namespaces/a", "")).as("a namespace object").isEqualTo(resource("get", "", "namespaces", "", ""));
    assertThat(access("DELETE", "/api/v1/namespaces/a/pods", "")).isEqualTo(resource("deletecollection", "", "pods", "", "a"));
    assertThat(access("DELETE", "/api/v1/namespaces/a/pods/p", "")).isEqualTo(resource("delete", "", "pods", "", "a"));
    assertThat(access("PATCH", "/apis/coordination.k8s.io/v1/namespaces/o/leases/l", "")).isEqualTo(resource("patch", "coordination.k8s.io", "leases", "", "o"));
    assertThat(access("GET", "/apis/agents.navix.sh/v1alpha1", "")).as("discovery")
        .isEqualTo(new Access("u", "get", null, null, null, null, "/apis/agents.navix.sh/v1alpha1"));
    assertThat(access("GET", "/version", "")).isEqualTo(new Access("u", "get", null, null, null, null, "/version"));
  }
}
