package sh.navix.agentbox.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The shipped gateway jar as its own process, pointed at a cluster by kubeconfig; its log goes to {@code work/gateway.log}. */
record GatewayProcess(Process process, String base) implements AutoCloseable {

  static GatewayProcess start(Path jar, Path kubeconfig, Path work) throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // A fixed set of JIT compiler threads: one that HotSpot stops would take its CPU time out of
    // the JIT share the claims bench reads from /proc (ProcessCpu).
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
        "-XX:-UseDynamicNumberOfCompilerThreads"));
    // JVM options for the gateway alone (a profiler, say), as bench/proxy.sh takes them.
    String opts = System.getenv().getOrDefault("GATEWAY_JAVA_OPTS", "").trim();
    if (!opts.isEmpty()) {
      command.addAll(List.of(opts.split("\\s+")));
    }
    command.addAll(List.of("-jar", jar.toString(), "--host", "127.0.0.1", "--api-port", Integer.toString(port), "--home", work.resolve("home").toString()));
    ProcessBuilder pb = new ProcessBuilder(pinned(command))
        .redirectErrorStream(true).redirectOutput(work.resolve("gateway.log").toFile());
    pb.environment().put("KUBECONFIG", kubeconfig.toString());
    pb.environment().put("AGENTBOX_LOG_LEVEL", "WARN");
    return new GatewayProcess(pb.start(), "http://127.0.0.1:" + port);
  }

  /**
   * The command, run on the CPUs in {@code GATEWAY_CPUS} (a {@code taskset -c} list) when set: the
   * gateway, and the claims bench's peer client, which plays its part. Unset, the OS places them.
   */
  static List<String> pinned(List<String> command) {
    String cpus = System.getenv().getOrDefault("GATEWAY_CPUS", "").trim();
    if (cpus.isEmpty()) {
      return command;
    }
    List<String> pinned = new ArrayList<>(List.of("taskset", "-c", cpus));
    pinned.addAll(command);
    return pinned;
  }

  /** Stops it as Kubernetes would: SIGTERM, then wait. */
  @Override
  public void close() throws InterruptedException {
    process.toHandle().destroy();
    process.waitFor(30, TimeUnit.SECONDS);
  }
}
