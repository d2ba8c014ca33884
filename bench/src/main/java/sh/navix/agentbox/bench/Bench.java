package sh.navix.agentbox.bench;

import java.util.Arrays;

/** {@code java -jar agentbox-bench.jar <benchmark> [flags]}; see bench/RESULTS.md for the commands. */
public final class Bench {
  private Bench() {}

  /** Held so the level sticks: the mock API server logs every request through JUL at INFO. */
  private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  public static void main(String[] args) throws Exception {
    MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
    if (args.length == 0) {
      System.err.println("usage: java -jar agentbox-bench.jar reconcile [--pools N] [--pods N] [--steady-seconds N] [--gateway-jar PATH]\n       java -jar agentbox-bench.jar claims [--claims N per row at concurrency 1 and 16, 4N at 64] [--gateway-jar PATH]\n"
          + "       java -jar agentbox-bench.jar apiserver [--pods N] [--writes N per round] [--concurrency N] [--rounds N]");
      System.exit(2);
    }
    // A bench stopped with SIGTERM or Ctrl-C does not leave its gateway or peer processes running.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy)));
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    switch (args[0]) {
      case "reconcile" -> ReconcileBench.run(rest);
      case "claims" -> ClaimBench.run(rest);
      case "apiserver" -> ApiServerBench.run(rest);
      case "extproc" -> ExtProcBench.run(rest);
      case "cluster" -> ClusterProcess.run(rest);
      case "splice" -> SpliceProcess.run(rest);
      default -> {
        System.err.println("unknown benchmark " + args[0]);
        System.exit(2);
      }
    }
    System.exit(0);
  }
}
