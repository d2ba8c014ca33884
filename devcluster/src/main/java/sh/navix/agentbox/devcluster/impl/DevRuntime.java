package sh.navix.agentbox.devcluster.impl;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import sh.navix.agentbox.devcluster.DevCluster;

/**
 * One running container of the simulated node: an HTTP/1.1 + WebSocket server on each declared
 * port of the pod's address, and a stand-in for a shell that runs exec'd commands (see
 * {@link #exec}). Its state, and the record of what it ran, live exactly as long as this
 * container start.
 */
final class DevRuntime {
  private static final String STATE_PREFIX = "/state/";
  private static final Pattern EXIT = Pattern.compile("exit\\s+(\\d{1,9})");
  /** Command lists and pipelines ({@code ;}, {@code &&}, {@code ||}, {@code |}, a newline), which this stand-in does not run. */
  private static final Pattern COMPOUND = Pattern.compile("[;|\\n]|&&");
  private static final Pattern SLEEP = Pattern.compile("sleep\\s+(\\d{1,6})");
  private static final Pattern ECHO = Pattern.compile("echo(?:\\s+(.*))?", Pattern.DOTALL);

  private final JsonObject identity;
  private final Map<String, Buffer> state = new ConcurrentHashMap<>();
  private final List<HttpServer> servers = new ArrayList<>();
  private final List<DevCluster.Exec> execs = new CopyOnWriteArrayList<>();

  /** What a simulated command did: its exit code and what it wrote to stdout. */
  record ExecResult(int exitCode, String stdout, long sleepSeconds) {
    ExecResult(int exitCode, String stdout) {
      this(exitCode, stdout, 0);
    }
  }

  /** {@code identity} carries pod, namespace, image, ip, bootId, containerId. */
  DevRuntime(JsonObject identity) {
    this.identity = identity;
  }

  /** Listens on {@code ip:port} for every port; fails if any port cannot be bound. */
  Future<Void> start(Vertx vertx, String ip, List<Integer> ports) {
    List<Future<HttpServer>> listening = new ArrayList<>();
    for (int port : ports) {
      HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(ip).setPort(port));
      JsonObject who = identity.copy().put("port", port);
      server.webSocketHandshakeHandler(hs -> {
        if ("/ws/echo".equals(hs.path())) {
          hs.accept();
        } else {
          hs.reject(404);
        }
      });
      server.webSocketHandler(this::webSocket);
      server.requestHandler(req -> handle(req, who));
      servers.add(server);
      listening.add(server.listen());
    }
    return Future.all(listening).mapEmpty();
  }

  /** Closes every listener (and with them all connections). */
  Future<Void> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    for (HttpServer s : servers) {
      closing.add(s.close());
    }
    servers.clear();
    state.clear();
    execs.clear();
    return Future.join(closing).mapEmpty();
  }

  /**
   * Runs {@code command} in {@code container} (this runtime) and records it. There is no shell:
   * the last argument, trimmed, decides. {@code exit N} exits with N (mod 256, as a shell would);
   * {@code echo TEXT} writes TEXT and a newline to stdout (TEXT verbatim, quotes and all);
   * {@code sleep N} exits with 0 after N seconds (the stream stays open meanwhile); a list
   * or pipeline ({@code ;}, {@code &&}, {@code ||}, {@code |}, a newline) exits with 2, so that a
   * script whose real outcome this cannot know never passes; anything else exits with 0 and
   * writes nothing.
   */
  ExecResult exec(String container, List<String> command) {
    execs.add(new DevCluster.Exec(container, command, Instant.now()));
    String script = command.isEmpty() ? "" : command.get(command.size() - 1).trim();
    if (COMPOUND.matcher(script).find()) {
      return new ExecResult(2, ""); // a list or pipeline: not simulated, and never taken for success
    }
    Matcher sleep = SLEEP.matcher(script);
    if (sleep.matches()) {
      return new ExecResult(0, "", Long.parseLong(sleep.group(1)));
    }
    Matcher exit = EXIT.matcher(script);
    if (exit.matches()) {
      return new ExecResult(Integer.parseInt(exit.group(1)) % 256, "");
    }
    Matcher echo = ECHO.matcher(script);
    if (echo.matches()) {
      return new ExecResult(0, (echo.group(1) == null ? "" : echo.group(1)) + "\n");
    }
    return new ExecResult(0, "");
  }

  /** The commands this container has run, oldest first. */
  List<DevCluster.Exec> execs() {
    return List.copyOf(execs);
  }

  private void webSocket(ServerWebSocket ws) {
    ws.textMessageHandler(ws::writeTextMessage);
    ws.binaryMessageHandler(ws::writeBinaryMessage);
  }

  private void handle(HttpServerRequest req, JsonObject who) {
    String path = req.path();
    if (req.method() == HttpMethod.GET && path.equals("/health")) {
      json(req, 200, new JsonObject().put("status", "ok"));
    } else if (req.method() == HttpMethod.GET && path.equals("/whoami")) {
      json(req, 200, who);
    } else if (path.startsWith(STATE_PREFIX) && path.length() > STATE_PREFIX.length()
        && (req.method() == HttpMethod.PUT || req.method() == HttpMethod.GET)) {
      String key = path.substring(STATE_PREFIX.length());
      if (req.method() == HttpMethod.PUT) {
        req.body().onSuccess(body -> {
          state.put(key, body);
          req.response().setStatusCode(204).end();
        });
      } else {
        Buffer value = state.get(key);
        if (value == null) {
          json(req, 404, new JsonObject().put("error", "no state for key '" + key + "'"));
        } else {
          req.response().putHeader("content-type", "application/octet-stream").end(value);
        }
      }
    } else {
      JsonObject headers = new JsonObject();
      req.headers().forEach(h -> headers.put(h.getKey().toLowerCase(), h.getValue()));
      json(req, 200, new JsonObject()
          .put("method", req.method().name())
          .put("path", path)
          .put("query", req.query())
          .put("headers", headers));
    }
  }

  private static void json(HttpServerRequest req, int status, JsonObject body) {
    req.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
