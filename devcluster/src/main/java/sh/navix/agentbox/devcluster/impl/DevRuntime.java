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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One running container of the simulated node: an HTTP/1.1 + WebSocket server on each declared
 * port of the pod's address. Its state lives exactly as long as this container start.
 */
final class DevRuntime {
  private static final String STATE_PREFIX = "/state/";

  private final JsonObject identity;
  private final Map<String, Buffer> state = new ConcurrentHashMap<>();
  private final List<HttpServer> servers = new ArrayList<>();

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
    return Future.join(closing).mapEmpty();
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
