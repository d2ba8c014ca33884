package sh.navix.agentbox.devcluster;

import java.time.Duration;

/** Settings of the embedded cluster, with their defaults. */
public final class DevClusterOptions {
  private String host = "127.0.0.1";
  private int apiPort = 0;
  private Duration pullDelay = Duration.ofMillis(300);
  private String nodeName = "dev-node-1";
  private boolean registerCrds = true;
  private int watchHistory = 10_000;
  private boolean audit;

  public String getHost() {
    return host;
  }

  /** Address the API server binds; loopback by default. */
  public DevClusterOptions setHost(String host) {
    this.host = host;
    return this;
  }

  public int getApiPort() {
    return apiPort;
  }

  /** API server port; 0 picks a free one. */
  public DevClusterOptions setApiPort(int apiPort) {
    this.apiPort = apiPort;
    return this;
  }

  public Duration getPullDelay() {
    return pullDelay;
  }

  /** How long a simulated image pull takes (the container is not ready meanwhile). */
  public DevClusterOptions setPullDelay(Duration pullDelay) {
    this.pullDelay = pullDelay;
    return this;
  }

  public String getNodeName() {
    return nodeName;
  }

  public DevClusterOptions setNodeName(String nodeName) {
    this.nodeName = nodeName;
    return this;
  }

  public boolean isRegisterCrds() {
    return registerCrds;
  }

  /** Whether to register every CRD found at {@code META-INF/fabric8/*-v1.yml} on the classpath. */
  public DevClusterOptions setRegisterCrds(boolean registerCrds) {
    this.registerCrds = registerCrds;
    return this;
  }

  public int getWatchHistory() {
    return watchHistory;
  }

  /**
   * How many deletions the API server remembers for watches that resume from a resourceVersion
   * (default 10,000; at least 1). A watch from before the oldest it remembers is answered 410
   * Gone ("too old resource version"), as a real API server answers one from before its watch
   * cache, and an informer then lists again.
   */
  public DevClusterOptions setWatchHistory(int deletions) {
    if (deletions < 1) {
      throw new IllegalArgumentException("watch history must keep at least 1 deletion, not " + deletions);
    }
    this.watchHistory = deletions;
    return this;
  }

  public boolean isAudit() {
    return audit;
  }

  /**
   * Whether the API server keeps an audit of who asked it for what ({@link DevCluster#accesses}):
   * each distinct kind of request per user, as Kubernetes authorizes it. Off by default.
   */
  public DevClusterOptions setAudit(boolean audit) {
    this.audit = audit;
    return this;
  }
}
