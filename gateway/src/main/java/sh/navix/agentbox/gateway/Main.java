package sh.navix.agentbox.gateway;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/** Command-line entry point: {@code java -jar agentbox-gateway.jar [dev] [flags]}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    List<String> argv = Arrays.asList(args);
    if (argv.contains("--help") || argv.contains("-h")) {
      System.out.print(GatewayOptions.usage());
      return;
    }
    GatewayOptions options;
    try {
      options = GatewayOptions.parse(argv, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("agentbox-gateway: " + e.getMessage());
      System.exit(2);
      return;
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    Gateway gateway;
    try {
      gateway = Gateway.start(options).toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      log.error("failed to start: {}", cause.toString(), cause);
      System.err.println("agentbox-gateway: failed to start: " + cause);
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        // The JVM waits for this hook; bounded by the grace plus a margin for closing clients.
        gateway.stop().toCompletionStage().toCompletableFuture()
            .get(options.shutdownGrace.toMillis() + 10_000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        log.warn("shutdown did not finish cleanly: {}", e.toString());
      }
    }, "agentbox-shutdown"));
  }
}
