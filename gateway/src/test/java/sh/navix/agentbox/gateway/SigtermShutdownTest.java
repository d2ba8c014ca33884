package sh.navix.agentbox.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real process, as an operator runs it: {@code Main dev} in its own JVM, stopped with SIGTERM
 * (what Kubernetes sends). It reports not ready, closes its listeners, stops the embedded
 * cluster and exits on its own well inside the grace period.
 */
class SigtermShutdownTest {
  static final Pattern API = Pattern.compile("management API listening on ([\\d.]+):(\\d+)");
  static final Pattern DEV_API = Pattern.compile("embedded Kubernetes API server on http://([\\d.]+):(\\d+)");
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

  @TempDir Path home;
  Process process;
  final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  final List<String> output = new java.util.concurrent.CopyOnWriteArrayList<>();

  @AfterEach
  void kill() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
    }
  }

  @Test
  void sigtermStopsListenersAndExitsCleanly() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    process = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
            Main.class.getName(), "dev", "--api-port", "0", "--dev-api-port", "0", "--proxy-port", "0", "--grpc-port", "0", "--home", home.toString(),
            "--shutdown-grace", "5s"))
        .redirectErrorStream(true)
        .start();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          lines.add(l);
          output.add(l);
        }
      } catch (IOException ignored) {
        // the process went away; the test reads what arrived
      }
    }, "gateway-output");
    reader.setDaemon(true);
    reader.start();

    Matcher devApi = awaitLine(DEV_API, Duration.ofSeconds(60));
    Matcher api = awaitLine(API, Duration.ofSeconds(60));
    String base = "http://" + api.group(1) + ":" + api.group(2);
    awaitLine(Pattern.compile("ready: cluster cache synced"), Duration.ofSeconds(60));
    assertThat(get(base + "/readyz").statusCode()).isEqualTo(200);
    assertThat(output).as("a clean start logs no warning or error").noneMatch(l -> l.contains(" WARN ") || l.contains(" ERROR "));

    // SIGTERM through the handle: Process.destroy() would also close our end of its output pipe.
    assertThat(process.toHandle().destroy()).isTrue();

    assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exited within 30 s of SIGTERM").isTrue();
    // The JVM reports death by signal (128+15) even when every shutdown hook completed.
    assertThat(process.exitValue()).as("exit code; output:\n%s", String.join("\n", output)).isIn(0, 143);
    awaitLine(Pattern.compile("shutting down \\(grace PT5S\\)"), Duration.ofSeconds(5));
    awaitLine(Pattern.compile("embedded Kubernetes API server stopped"), Duration.ofSeconds(5));
    awaitLine(Pattern.compile("INFO .* stopped$"), Duration.ofSeconds(5));
    assertThatThrownBy(() -> new Socket(api.group(1), Integer.parseInt(api.group(2))).close()).isInstanceOf(ConnectException.class);
    assertThatThrownBy(() -> new Socket(devApi.group(1), Integer.parseInt(devApi.group(2))).close()).isInstanceOf(ConnectException.class);
  }

  /** Takes output lines until one matches, failing after {@code timeout}. */
  Matcher awaitLine(Pattern p, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null) {
        throw new AssertionError("no output line matching " + p + " within " + timeout + "; output:\n" + String.join("\n", output));
      }
      Matcher m = p.matcher(line);
      if (m.find()) {
        return m;
      }
    }
  }

  static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
