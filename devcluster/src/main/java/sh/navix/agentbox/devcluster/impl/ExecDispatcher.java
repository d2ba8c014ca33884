package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pod exec subresource, which fabric8's mock API server does not serve:
 * {@code /api/v1/namespaces/{ns}/pods/{name}/exec?command=…&container=…&stdout=true…}. As
 * kube-apiserver does before any upgrade, it answers a {@code Status}: 404 for an unknown pod,
 * 400 for a container the pod's spec does not name or a missing container name when the pod has
 * several; and, as the node would, 400 when the container is not running on the simulated node.
 * Otherwise it upgrades to a WebSocket, runs the command in the container's {@link DevRuntime}
 * and answers in the remote-command channel protocol: stdout on channel 1, then the outcome on
 * channel 3 (a {@code Status} under {@code v4.channel.k8s.io}, plain error text only on failure
 * under the older versions), then a close. Everything else goes to the mock unchanged.
 *
 * <p>A command takes at least {@value #PROCESS_START_MS} ms, as starting a process in a container
 * does on a real node (tens of milliseconds). Answering within the same instant as the upgrade is
 * more than fabric8's Vert.x 5 client (8.0.0) copes with: when the outcome and the close arrive
 * with the upgrade, it can take the stream as closed before it opens it, and the exec never
 * reports open (one failure in some hundreds under load, in a loop of {@code exit 3}).
 */
final class ExecDispatcher extends DelegatingDispatcher {
  private static final Logger LOG = LoggerFactory.getLogger(ExecDispatcher.class);
  private static final Pattern EXEC_PATH = Pattern.compile("/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec");
  static final String V4 = "v4.channel.k8s.io";
  /** What fabric8's mock server accepts in the handshake (its HTTP server's WebSocket subprotocols). */
  private static final List<String> ACCEPTED = List.of("v1.channel.k8s.io", "v2.channel.k8s.io", "v3.channel.k8s.io", V4);
  private static final byte STDOUT = 1;
  private static final byte ERROR = 3;
  /** The least time a command runs: a process start on the simulated node. */
  static final long PROCESS_START_MS = 10;

  private final RunningContainers running;

  ExecDispatcher(Dispatcher delegate, RunningContainers running) {
    super(delegate);
    this.running = running;
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    Matcher exec = EXEC_PATH.matcher(pathOf(request));
    if (!exec.matches() || (request.method() != HttpMethod.GET && request.method() != HttpMethod.POST)) {
      return delegate.dispatch(request);
    }
    return exec(request, exec.group(1), exec.group(2), parameters(queryOf(request)));
  }

  private MockResponse exec(RecordedRequest request, String namespace, String name, Map<String, List<String>> params) {
    MockResponse pod = get(request, "/api/v1/namespaces/" + namespace + "/pods/" + name);
    if (pod == null || pod.code() == 404) {
      return failure(404, "NotFound", "pods \"" + name + "\" not found", new JsonObject().put("name", name).put("kind", "pods"));
    }
    if (pod.code() != 200) {
      return pod;
    }
    JsonObject spec = object(pod.getBody()).getJsonObject("spec", new JsonObject());
    List<String> containers = names(spec, "containers");
    List<String> initContainers = names(spec, "initContainers");
    String container = params.getOrDefault("container", List.of("")).get(0);
    if (container.isEmpty()) {
      if (containers.size() != 1) {
        return badRequest("a container name must be specified for pod " + name
            + (containers.isEmpty() ? "" : ", choose one of: " + list(containers))
            + (initContainers.isEmpty() ? "" : " or one of the init containers: " + list(initContainers)));
      }
      container = containers.get(0);
    } else if (!containers.contains(container) && !initContainers.contains(container)
        && !names(spec, "ephemeralContainers").contains(container)) {
      return badRequest("container " + container + " is not valid for pod " + name);
    }
    DevRuntime runtime = running.get(namespace, name, container);
    if (runtime == null) {
      return badRequest(running.anyRunning(namespace, name)
          ? "unable to upgrade connection: container " + container + " in pod " + namespace + "/" + name + " is not running"
          : "unable to upgrade connection: pod " + namespace + "/" + name + " is not running (no container has started)");
    }
    String upgrade = request.getHeader("Upgrade");
    if (upgrade == null || !upgrade.toLowerCase(Locale.ROOT).contains("websocket")) {
      return badRequest("Upgrade request required");
    }
    List<String> command = params.getOrDefault("command", List.of());
    return new MockResponse().setResponseCode(101).withWebSocketUpgrade(new Session(runtime, container, command, flag(params, "stdout"),
        protocol(request.getHeader("Sec-WebSocket-Protocol"))));
  }

  /** One exec stream: runs the command once the WebSocket is open, sends its output and outcome, closes. */
  private static final class Session extends WebSocketListener {
    private final DevRuntime runtime;
    private final String container;
    private final List<String> command;
    private final boolean stdout;
    private final String protocol;

    Session(DevRuntime runtime, String container, List<String> command, boolean stdout, String protocol) {
      this.runtime = runtime;
      this.container = container;
      this.command = command;
      this.stdout = stdout;
      this.protocol = protocol;
    }

    /** Set once the client closed the stream: a command still "running" then sends nothing. */
    private volatile boolean closed;

    @Override
    public void onOpen(WebSocket webSocket, Response response) {
      DevRuntime.ExecResult result = runtime.exec(container, command);
      long runs = Math.max(PROCESS_START_MS, TimeUnit.SECONDS.toMillis(result.sleepSeconds()));
      CompletableFuture.delayedExecutor(runs, TimeUnit.MILLISECONDS).execute(() -> finish(webSocket, result));
    }

    private void finish(WebSocket webSocket, DevRuntime.ExecResult result) {
      if (closed) {
        LOG.info("exec ({}) in container {}: {} ended by the client", protocol, container, command);
        return;
      }
      LOG.info("exec ({}) in container {}: {} exited with {}", protocol, container, command, result.exitCode());
      if (stdout && !result.stdout().isEmpty()) {
        webSocket.send(frame(STDOUT, result.stdout()));
      }
      String outcome = outcome(result.exitCode());
      if (outcome != null) {
        webSocket.send(frame(ERROR, outcome));
      }
      webSocket.close(1000, "");
    }

    @Override
    public void onClosing(WebSocket webSocket, int code, String reason) {
      closed = true;
    }

    @Override
    public void onClosed(WebSocket webSocket, int code, String reason) {
      closed = true;
    }

    @Override
    public void onFailure(WebSocket webSocket, Throwable t, Response response) {
      closed = true;
    }

    /** What goes on the error channel: under v4 always a Status; before, only the error text of a failure. */
    private String outcome(int exitCode) {
      boolean statusObject = V4.equals(protocol);
      if (exitCode == 0) {
        return statusObject ? new JsonObject().put("metadata", new JsonObject()).put("status", "Success").encode() : null;
      }
      String message = "command terminated with non-zero exit code: error executing command [" + String.join(" ", command)
          + "], exit code " + exitCode;
      if (!statusObject) {
        return message;
      }
      JsonObject cause = new JsonObject().put("reason", "ExitCode").put("message", Integer.toString(exitCode));
      return new JsonObject().put("metadata", new JsonObject()).put("status", "Failure").put("message", message)
          .put("reason", "NonZeroExitCode").put("details", new JsonObject().put("causes", new JsonArray().add(cause))).encode();
    }
  }

  private static byte[] frame(byte channel, String data) {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    byte[] frame = new byte[bytes.length + 1];
    frame[0] = channel;
    System.arraycopy(bytes, 0, frame, 1, bytes.length);
    return frame;
  }

  /** The subprotocol the handshake settles on: the client's first choice that the server accepts, or null. */
  static String protocol(String requested) {
    if (requested != null) {
      for (String p : requested.split(",")) {
        if (ACCEPTED.contains(p.trim())) {
          return p.trim();
        }
      }
    }
    return null;
  }

  private static MockResponse badRequest(String message) {
    return failure(400, "BadRequest", message, null);
  }

  private static List<String> names(JsonObject spec, String field) {
    List<String> names = new ArrayList<>();
    for (Object c : spec.getJsonArray(field, new JsonArray())) {
      if (c instanceof JsonObject o && o.getString("name") != null) {
        names.add(o.getString("name"));
      }
    }
    return names;
  }

  /** Names as Go prints a slice: {@code [a b]}. */
  private static String list(List<String> names) {
    return "[" + String.join(" ", names) + "]";
  }

  private static boolean flag(Map<String, List<String>> params, String name) {
    String v = params.getOrDefault(name, List.of("false")).get(0);
    return v.equals("true") || v.equals("1");
  }

  private static Map<String, List<String>> parameters(String query) {
    Map<String, List<String>> params = new HashMap<>();
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      params.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    }
    return params;
  }
}
