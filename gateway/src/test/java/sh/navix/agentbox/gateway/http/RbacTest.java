package sh.navix.agentbox.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevCluster.Access;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.devcluster.Pools;
import sh.navix.agentbox.gateway.Gateway;

/**
 * The permissions shipped in {@code deploy/rbac.yaml} against what the gateway really asks of the
 * API server: a gateway runs on the dev cluster as the manifest's ServiceAccount, through a
 * sandbox's whole life (claims with an exec hook, a timeout change, a create that waits and gives
 * up, releases, the pool scaled up and down, leadership taken and handed back), while the API
 * server notes each kind of request it makes. Every request must be allowed by the manifest's
 * rules, as Kubernetes' RBAC authorizer would decide; and every permission granted must have been
 * used, or be named below with the path that needs it, so the manifest grants nothing for nothing.
 */
class RbacTest {
  static final Path MANIFEST = Path.of("..", "deploy", "rbac.yaml");
  static final String NAMESPACE = "agentbox-system";
  static final String SERVICE_ACCOUNT = "agentbox-gateway";
  static final String USER = "system:serviceaccount:" + NAMESPACE + ":" + SERVICE_ACCOUNT;

  /**
   * Permissions the run above cannot show in use, and why the gateway needs them. Keys are
   * {@code group/resource[/subresource]:verb}.
   */
  static final Map<String, String> NEEDED_ELSEWHERE = Map.of(
      "/pods/exec:create", "an exec hook is a WebSocket GET on this API server (get); newer API servers also check create on that "
          + "upgrade, and a POST (SPDY) exec needs create");

  @TempDir Path home;

  /** Authenticated users may read discovery and the version (the default system:discovery and system:public-info-viewer roles). */
  static boolean discovery(Access a) {
    String p = a.path();
    return a.verb().equals("get") && (p.equals("/api") || p.startsWith("/api/") || p.equals("/apis") || p.startsWith("/apis/")
        || p.equals("/version") || p.startsWith("/openapi/"));
  }

  /** A rule that applies in {@code namespace} (null: every namespace, for a ClusterRole bound cluster-wide). */
  record Grant(PolicyRule rule, String namespace) {
    boolean allows(Access a) {
      return (namespace == null || namespace.equals(a.namespace()))
          && matches(rule.getApiGroups(), a.apiGroup())
          && matches(rule.getResources(), a.subresource().isEmpty() ? a.resource() : a.resource() + "/" + a.subresource())
          && matches(rule.getVerbs(), a.verb())
          && (rule.getResourceNames() == null || rule.getResourceNames().isEmpty());
    }

    static boolean matches(List<String> allowed, String value) {
      return allowed != null && (allowed.contains("*") || allowed.contains(value));
    }
  }

  /** The rules bound to the ServiceAccount by the manifest's bindings. */
  static List<Grant> grants(KubernetesClient client) throws Exception {
    List<HasMetadata> objects;
    try (InputStream in = Files.newInputStream(MANIFEST)) {
      objects = client.load(in).items();
    }
    Map<String, ClusterRole> clusterRoles = new LinkedHashMap<>();
    Map<String, Role> roles = new LinkedHashMap<>();
    for (HasMetadata o : objects) {
      if (o instanceof ClusterRole c) {
        clusterRoles.put(c.getMetadata().getName(), c);
      } else if (o instanceof Role r) {
        roles.put(r.getMetadata().getNamespace() + "/" + r.getMetadata().getName(), r);
      }
    }
    List<Grant> grants = new ArrayList<>();
    for (HasMetadata o : objects) {
      if (o instanceof ClusterRoleBinding b && boundToUs(b.getSubjects())) {
        ClusterRole role = clusterRoles.get(clusterRoleOf(b.getRoleRef()));
        assertThat(role).as("the ClusterRole of binding %s", b.getMetadata().getName()).isNotNull();
        role.getRules().forEach(r -> grants.add(new Grant(r, null)));
      } else if (o instanceof RoleBinding b && boundToUs(b.getSubjects())) {
        String ns = b.getMetadata().getNamespace();
        RoleRef ref = b.getRoleRef();
        List<PolicyRule> rules = ref.getKind().equals("ClusterRole") ? clusterRoles.get(ref.getName()).getRules()
            : roles.get(ns + "/" + ref.getName()).getRules();
        rules.forEach(r -> grants.add(new Grant(r, ns)));
      }
    }
    return grants;
  }

  static String clusterRoleOf(RoleRef ref) {
    assertThat(ref.getKind()).isEqualTo("ClusterRole");
    return ref.getName();
  }

  static boolean boundToUs(List<Subject> subjects) {
    return subjects != null && subjects.stream().anyMatch(s -> s.getKind().equals("ServiceAccount") && s.getName().equals(SERVICE_ACCOUNT)
        && NAMESPACE.equals(s.getNamespace()));
  }

  /** Each permission a grant gives, as {@code group/resource[/subresource]:verb}. */
  static Set<String> permissions(List<Grant> grants) {
    Set<String> all = new TreeSet<>();
    for (Grant g : grants) {
      for (String group : g.rule().getApiGroups()) {
        for (String resource : g.rule().getResources()) {
          for (String verb : g.rule().getVerbs()) {
            all.add(group + "/" + resource + ":" + verb);
          }
        }
      }
    }
    return all;
  }

  static String permission(Access a) {
    return a.apiGroup() + "/" + a.resource() + (a.subresource().isEmpty() ? "" : "/" + a.subresource()) + ":" + a.verb();
  }

  @Test
  void theManifestAllowsEverythingTheGatewayDoesAndNothingElse() throws Exception {
    List<Access> made = requestsOfALife();
    List<Grant> grants;
    // Only to read the manifest: it talks to no server.
    try (KubernetesClient offline = new io.fabric8.kubernetes.client.KubernetesClientBuilder()
        .withConfig(new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl("http://127.0.0.1:1").build()).build()) {
      grants = grants(offline);
    }
    assertThat(made).as("requests the gateway made that the manifest does not allow")
        .filteredOn(x -> x.isResourceRequest() ? grants.stream().noneMatch(gr -> gr.allows(x)) : !discovery(x)).isEmpty();
    Set<String> used = made.stream().filter(Access::isResourceRequest).map(RbacTest::permission).collect(Collectors.toCollection(TreeSet::new));
    Set<String> granted = permissions(grants);
    assertThat(granted).as("permissions needed on other paths").containsAll(NEEDED_ELSEWHERE.keySet());
    Set<String> unused = new TreeSet<>(granted);
    unused.removeAll(used);
    unused.removeAll(NEEDED_ELSEWHERE.keySet());
    assertThat(unused).as("permissions granted for nothing (used: %s)", used).isEmpty();
  }

  /**
   * With {@code --namespace default} every request about pods and pools stays in that namespace, so
   * a Role there can grant them (README says so); only templates (cluster-scoped) and the Lease (in
   * the gateway's own namespace) are asked for elsewhere.
   */
  @Test
  void withOneNamespaceOnlyTemplatesAndTheLeaseAreAskedForOutsideIt() throws Exception {
    List<Access> made = requestsOfALife("--namespace", "default");
    assertThat(made).filteredOn(Access::isResourceRequest).extracting(Access::resource).contains("pods", "sandboxpools");
    assertThat(made).as("requests outside namespace default")
        .filteredOn(x -> x.isResourceRequest() && !x.namespace().equals("default"))
        .allMatch(x -> x.resource().equals("sandboxtemplates") && x.namespace().isEmpty()
            || x.resource().equals("leases") && x.namespace().equals(NAMESPACE));
  }

  /**
   * What a gateway, as the manifest's ServiceAccount with {@code flags}, asks of the API server
   * through a sandbox's whole life (see the class).
   */
  List<Access> requestsOfALife(String... flags) throws Exception {
    try (DevClusterGateways env = DevClusterGateways.start(home, new DevClusterOptions().setAudit(true).setPullDelay(Duration.ofMillis(100)))) {
      DevCluster cluster = env.cluster;
      KubernetesClient admin = cluster.client();
      Pools.create(admin, "rbac", 2);
      // The demo's pool names a template, which the gateway copies into it.
      for (String demo : List.of("/dev/demo-template.yaml", "/dev/demo-pool.yaml")) {
        try (InputStream in = RbacTest.class.getResourceAsStream(demo)) {
          admin.load(in).create();
        }
      }
      List<String> args = new ArrayList<>(List.of("--lease-namespace", NAMESPACE));
      args.addAll(List.of(flags));
      Gateway g = env.gateway("g", cluster.writeKubeconfig(home.resolve("kubeconfig"), USER), args.toArray(String[]::new));
      Await.until("the gateway leads", Duration.ofSeconds(30), () -> GatewayProcesses.metric(g, "agentbox_leader 1.0") ? true : null);
      Await.until("2 idle pods", Duration.ofSeconds(30), () -> idle(admin) == 2 ? true : null);
      Await.until("the demo pool's pods", Duration.ofSeconds(30), () -> !admin.pods().inNamespace("default")
          .withLabel(Labels.SANDBOX_POOL, "demo").list().getItems().isEmpty() ? true : null);

      String a = created(GatewayProcesses.call(g, "POST", "/v1/sandboxes", "{\"poolName\":\"rbac\",\"image\":\"example/sandbox:2\","
          + "\"idleTimeout\":\"30s\",\"postStartHooks\":[{\"exec\":{\"command\":\"echo hello\"}}],\"waitForRunning\":true}"));
      assertThat(GatewayProcesses.call(g, "PUT", "/v1/sandboxes/" + a + "/timeout", "{\"timeout\":\"60s\"}").statusCode()).isEqualTo(204);
      String b = created(GatewayProcesses.call(g, "POST", "/v1/sandboxes", "{\"poolName\":\"rbac\",\"waitForRunning\":true}"));
      HttpResponse<String> none = GatewayProcesses.call(g, "POST", "/v1/sandboxes", "{\"poolName\":\"rbac\",\"waitTimeoutSeconds\":2}");
      assertThat(none.statusCode()).as(none.body()).isEqualTo(409);
      for (String id : List.of(a, b)) {
        assertThat(GatewayProcesses.call(g, "DELETE", "/v1/sandboxes/" + id, null).statusCode()).isEqualTo(202);
      }
      Await.until("both pods idle again", Duration.ofSeconds(30), () -> idle(admin) == 2 ? true : null);
      for (int replicas : new int[] {3, 1}) {
        // A merge patch without a resourceVersion (kubectl patch --type merge): the gateway writes the
        // pool too (its status, the last create time), and an edit of an older version would be a 409.
        admin.resources(SandboxPool.class).inNamespace("default").withName("rbac")
            .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":" + replicas + "}}");
        Await.until(replicas + " pods", Duration.ofSeconds(30), () -> admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "rbac")
            .list().getItems().size() == replicas ? true : null);
      }
      env.stop(g); // hands the Lease back
      return cluster.accesses().stream().filter(x -> x.user().equals(USER)).toList();
    }
  }

  /** Idle, ready pods of pool "rbac". */
  static long idle(KubernetesClient admin) {
    return admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "rbac").list().getItems().stream()
        .filter(p -> Pods.inPhase(p, SandboxPhase.IDLE) && Pods.claimable(p)).count();
  }

  static String created(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return new JsonObject(r.body()).getJsonObject("sandbox").getString("sandboxId");
  }
}
