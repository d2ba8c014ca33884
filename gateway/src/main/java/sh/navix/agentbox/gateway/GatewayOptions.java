package sh.navix.agentbox.gateway;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Process configuration. Every setting has a default here, an {@code AGENTBOX_*} environment
 * variable and a {@code --flag}; a flag wins over the environment, which wins over the default.
 */
public final class GatewayOptions {

  /** One setting: its flag, its environment variable, and its description for {@code --help}. */
  private record Setting(String flag, String env, String help) {}

  private static final List<Setting> SETTINGS =
      List.of(
          new Setting("--host", "AGENTBOX_HOST", "address every listener binds (default 0.0.0.0; 127.0.0.1 in dev mode)"),
          new Setting("--api-port", "AGENTBOX_API_PORT", "management HTTP port: /v1, /healthz, /readyz, /metrics (default 8080)"),
          new Setting("--proxy-port", "AGENTBOX_PROXY_PORT", "sandbox traffic proxy port (default 8081)"),
          new Setting("--grpc-port", "AGENTBOX_GRPC_PORT", "Envoy ext_proc gRPC port (default 9002)"),
          new Setting("--home", "AGENTBOX_HOME", "state directory (default ~/.agentbox)"),
          new Setting("--kubeconfig", "AGENTBOX_KUBECONFIG", "kubeconfig file of the cluster (default: $KUBECONFIG, ~/.kube/config, else in-cluster)"),
          new Setting("--namespace", "AGENTBOX_NAMESPACE", "only watch this namespace (default: all namespaces)"),
          new Setting("--shutdown-grace", "AGENTBOX_SHUTDOWN_GRACE", "how long SIGTERM waits for in-flight requests, e.g. 20s (default 20s)"),
          new Setting("--lease-namespace", "AGENTBOX_LEASE_NAMESPACE", "namespace of the leader-election Lease (default: $POD_NAMESPACE, else default)"),
          new Setting("--identity", "AGENTBOX_IDENTITY", "this replica's name in the Lease (default: $HOSTNAME plus a random suffix)"),
          new Setting("--scale-down-protection", "AGENTBOX_SCALE_DOWN_PROTECTION", "how long an idle pod marked for scale-down stays claimable, e.g. 10s (default 10s)"),
          new Setting("--history-retention", "AGENTBOX_HISTORY_RETENTION", "how long sandbox history records are kept, e.g. 720h; 0 keeps them forever (default 720h)"),
          new Setting("--max-claim-wait", "AGENTBOX_MAX_CLAIM_WAIT", "longest a create waits for an idle pod (caps waitTimeoutSeconds; default 300s)"),
          new Setting("--max-reconcile-writes", "AGENTBOX_MAX_RECONCILE_WRITES", "most reconciler writes in flight at the API server at once; more wait their turn (default 32)"),
          new Setting("--watch-reconnect-delay", "AGENTBOX_WATCH_RECONNECT_DELAY", "how soon a watch that ended is opened again (every 5-10 min, at its timeout); doubles on failures in a row, to 32x (default 100ms)"),
          new Setting("--proxy-idle-timeout", "AGENTBOX_PROXY_IDLE_TIMEOUT", "built-in proxy: a client connection with no request in progress is closed after this long; 0 never (default 75s)"),
          new Setting("--proxy-pod-keepalive", "AGENTBOX_PROXY_POD_KEEPALIVE", "built-in proxy: longest a pod connection waits idle for reuse; keep it below the pods' own keep-alive timeout (default 4s)"),
          new Setting("--sandbox-domain", "AGENTBOX_SANDBOX_DOMAIN", "domain of sandbox host names <port>-<id>.<domain> (default sandbox.localhost)"),
          new Setting("--dev-api-port", "AGENTBOX_DEV_API_PORT", "dev mode: embedded Kubernetes API port, 0 = any free port (default 6443)"),
          new Setting("--dev-pull-delay", "AGENTBOX_DEV_PULL_DELAY", "dev mode: simulated image pull time, e.g. 300ms (default 300ms)"));

  /** Null: 0.0.0.0, or 127.0.0.1 in dev mode (dev pods listen on other 127.x addresses with the same ports). */
  public String host;
  public int apiPort = 8080;
  public int proxyPort = 8081;
  public int grpcPort = 9002;
  public Path home = Path.of(System.getProperty("user.home"), ".agentbox");
  /** Null: $KUBECONFIG, ~/.kube/config, else the in-cluster service account. Ignored in dev mode. */
  public Path kubeconfig;
  /** Null watches all namespaces. */
  public String namespace;
  public Duration shutdownGrace = Duration.ofSeconds(20);
  /** Null: $POD_NAMESPACE, else "default". */
  public String leaseNamespace;
  /** Null: $HOSTNAME (the pod name in Kubernetes) plus a random suffix. */
  public String identity;
  public Duration scaleDownProtection = Duration.ofSeconds(10);
  /** Most reconciler writes in flight at once (see ReconcilerOptions.maxWritesInFlight). */
  public int maxReconcileWrites = 32;
  /**
   * How long the informers wait before they open again a watch that ended (fabric8's {@code
   * watchReconnectInterval}). Each informer ends its own watch every 5 to 10 minutes, as client-go's
   * do, so that watches spread over the API server's replicas; until the new watch is open the cache
   * hears of no change. fabric8's default of 1 s was a second without pod events every few minutes.
   */
  public Duration watchReconnectDelay = Duration.ofMillis(100);
  public Duration historyRetention = Duration.ofDays(30);
  /** How long a create waits in the queue by default, and at most. */
  public Duration defaultClaimWait = Duration.ofSeconds(30);
  public Duration maxClaimWait = Duration.ofMinutes(5);
  public String sandboxDomain = "sandbox.localhost";
  public Duration proxyIdleTimeout = Duration.ofSeconds(75);
  /** Below the 5 s keep-alive timeout of Node.js and uvicorn servers, so a kept connection is rarely one they are closing. */
  public Duration proxyPodKeepAlive = Duration.ofSeconds(4);
  public boolean dev;
  public int devApiPort = 6443;
  public Duration devPullDelay = Duration.ofMillis(300);

  /** Parses {@code args} (the command {@code dev} and flags) over {@code env} over defaults. */
  public static GatewayOptions parse(List<String> args, Map<String, String> env) {
    GatewayOptions o = new GatewayOptions();
    for (Setting s : SETTINGS) {
      String v = env.get(s.env());
      if (v != null && !v.isBlank()) {
        o.set(s, v.trim());
      }
    }
    List<String> rest = new ArrayList<>(args);
    while (!rest.isEmpty()) {
      String a = rest.remove(0);
      if (a.equals("dev")) {
        o.dev = true;
        continue;
      }
      String value = null;
      int eq = a.indexOf('=');
      String flag = eq > 0 ? a.substring(0, eq) : a;
      if (eq > 0) {
        value = a.substring(eq + 1);
      }
      Setting s = SETTINGS.stream().filter(x -> x.flag().equals(flag)).findFirst().orElse(null);
      if (s == null) {
        throw new IllegalArgumentException("unknown argument '" + a + "'\n" + usage());
      }
      if (value == null) {
        if (rest.isEmpty()) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        value = rest.remove(0);
      }
      o.set(s, value);
    }
    if (o.host == null) {
      o.host = o.dev ? "127.0.0.1" : "0.0.0.0";
    }
    if (o.leaseNamespace == null) {
      String podNs = env.get("POD_NAMESPACE");
      o.leaseNamespace = podNs == null || podNs.isBlank() ? "default" : podNs.trim();
    }
    return o;
  }

  private void set(Setting s, String v) {
    try {
      switch (s.flag()) {
        case "--host" -> host = v;
        case "--api-port" -> apiPort = port(v);
        case "--proxy-port" -> proxyPort = port(v);
        case "--grpc-port" -> grpcPort = port(v);
        case "--home" -> home = Path.of(v.startsWith("~/") ? System.getProperty("user.home") + v.substring(1) : v);
        case "--kubeconfig" -> kubeconfig = Path.of(v.startsWith("~/") ? System.getProperty("user.home") + v.substring(1) : v);
        case "--namespace" -> namespace = v.isBlank() ? null : v;
        case "--shutdown-grace" -> shutdownGrace = sh.navix.agentbox.api.GoDuration.parse(v);
        case "--lease-namespace" -> leaseNamespace = v.isBlank() ? null : v;
        case "--identity" -> identity = v.isBlank() ? null : v;
        case "--scale-down-protection" -> scaleDownProtection = sh.navix.agentbox.api.GoDuration.parse(v);
        case "--history-retention" -> historyRetention = sh.navix.agentbox.api.GoDuration.parse(v);
        case "--max-claim-wait" -> maxClaimWait = sh.navix.agentbox.api.GoDuration.parse(v);
        case "--max-reconcile-writes" -> maxReconcileWrites = positive(v);
        case "--watch-reconnect-delay" -> watchReconnectDelay = reconnectDelay(v);
        case "--proxy-idle-timeout" -> proxyIdleTimeout = sh.navix.agentbox.api.GoDuration.parse(v);
        case "--proxy-pod-keepalive" -> proxyPodKeepAlive = sh.navix.agentbox.api.GoDuration.parse(v);
        case "--sandbox-domain" -> sandboxDomain = v;
        case "--dev-api-port" -> devApiPort = port(v);
        case "--dev-pull-delay" -> devPullDelay = sh.navix.agentbox.api.GoDuration.parse(v);
        default -> throw new IllegalStateException(s.flag());
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "bad value '" + v + "' for " + s.flag() + " / " + s.env() + ": " + e.getMessage(), e);
    }
  }

  /** From 1 ms (0 would have fabric8 retry a failing watch without a pause) to a minute. */
  private static Duration reconnectDelay(String v) {
    Duration d = sh.navix.agentbox.api.GoDuration.parse(v);
    if (d.toMillis() < 1 || d.compareTo(Duration.ofMinutes(1)) > 0) {
      throw new IllegalArgumentException("must be from 1ms to 1m");
    }
    return d;
  }

  private static int positive(String v) {
    int n = number(v, "not a whole number");
    if (n < 1) {
      throw new IllegalArgumentException("must be at least 1");
    }
    return n;
  }

  private static int port(String v) {
    int p = number(v, "not a port number");
    if (p < 0 || p > 65535) {
      throw new IllegalArgumentException("port out of range 0-65535");
    }
    return p;
  }

  private static int number(String v, String otherwise) {
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(otherwise);
    }
  }

  /** The embedded history database ({@code .mv.db} is appended by H2). */
  public Path historyFile() {
    return home.resolve("history").resolve("sandboxes");
  }

  /** Directory for dev-mode files such as the kubeconfig. */
  public Path devDir() {
    return home.resolve("dev");
  }

  public static String usage() {
    StringBuilder b = new StringBuilder();
    b.append("usage: java -jar agentbox-gateway.jar [dev] [flags]\n\n");
    b.append("  dev   run on an embedded Kubernetes (API server + simulated node) with a demo pool\n\n");
    b.append("Flags (each also an environment variable):\n");
    for (Setting s : SETTINGS) {
      b.append(String.format(Locale.ROOT, "  %-24s %-32s %s%n", s.flag(), s.env(), s.help()));
    }
    b.append("Without 'dev' the gateway uses $KUBECONFIG, ~/.kube/config or the in-cluster service account.\n");
    return b.toString();
  }
}
