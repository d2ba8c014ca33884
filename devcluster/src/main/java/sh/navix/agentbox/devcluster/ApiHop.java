package sh.navix.agentbox.devcluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP hop in front of a dev cluster's API server, to try what a client does when the API server
 * goes away and comes back: give the client {@link #masterUrl()}, then {@link #down} refuses new
 * connections and cuts the open ones, or leaves them silent as a network partition does; {@link
 * #up} listens again on the same port, and silent connections carry on where they stopped.
 */
public final class ApiHop {
  private final Vertx vertx;
  private final URI api;
  private final NetClient client;
  private final Set<NetSocket> open = ConcurrentHashMap.newKeySet();
  private NetServer server;
  private int port;

  private ApiHop(Vertx vertx, URI api) {
    this.vertx = vertx;
    this.api = api;
    this.client = vertx.createNetClient();
  }

  /** A hop to {@code cluster}'s API server, listening on a free port of the loopback address. */
  public static Future<ApiHop> start(Vertx vertx, DevCluster cluster) {
    ApiHop hop = new ApiHop(vertx, URI.create(cluster.masterUrl()));
    return hop.listen(0).map(hop);
  }

  /** The API server's address through the hop. */
  public String masterUrl() {
    return "http://127.0.0.1:" + port;
  }

  /** New connections refused; open ones cut ({@code cut}) or left silent until {@link #up}. */
  public Future<Void> down(boolean cut) {
    return server.close().onSuccess(v -> open.forEach(cut ? NetSocket::close : NetSocket::pause));
  }

  /** Listening again on the same port; silent connections carry on. */
  public Future<Void> up() {
    return listen(port).onSuccess(v -> open.forEach(NetSocket::resume));
  }

  /** The hop and every connection through it closed. */
  public Future<Void> close() {
    open.forEach(NetSocket::close);
    return server.close().compose(v -> client.close());
  }

  private Future<Void> listen(int on) {
    return vertx.createNetServer().connectHandler(in -> {
      in.pause();
      track(in);
      client.connect(api.getPort(), api.getHost()).onSuccess(out -> {
        track(out);
        in.pipeTo(out);
        out.pipeTo(in);
        in.resume();
      }).onFailure(e -> in.close());
    }).listen(on, "127.0.0.1").map(s -> {
      server = s;
      port = s.actualPort();
      return null;
    });
  }

  private void track(NetSocket socket) {
    open.add(socket);
    socket.closeHandler(v -> open.remove(socket));
  }
}
