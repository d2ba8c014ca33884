package sh.navix.agentbox.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.extproc.routing.RequestTargets;
import sh.navix.agentbox.extproc.routing.RouteDecision;

/**
 * One client connection to the built-in proxy. Requests on it are served one after another
 * (pipelined ones wait their turn): routed, their head edited in place and written to a pod
 * connection from the event loop's pool, their body chunks handed on as they arrive. The pod's
 * response comes back as the pod framed it ({@link ResponseFramer}): its bytes as they came when
 * its head suits the client as it is, else behind a rewritten head. A WebSocket handshake that the
 * pod accepts turns both connections into a byte tunnel.
 */
final class ProxyConnection extends ChannelInboundHandlerAdapter {
  /** Request headers that concern one hop only (RFC 9110 §7.6.1), plus the handshake of {@code Expect}. */
  static final List<AsciiString> HOP_BY_HOP = Stream.of("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
      "trailer", "upgrade", "proxy-connection", "expect", "transfer-encoding").map(AsciiString::cached).toList();
  // Header names as AsciiString: their hash is computed once, not on every request.
  private static final AsciiString DESTINATION = AsciiString.cached(RequestTargets.DESTINATION);
  private static final AsciiString FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  private static final AsciiString FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
  private static final AsciiString FORWARDED_PORT = AsciiString.cached("x-forwarded-port");
  private static final AsciiString FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  private static final AsciiString HTTP = AsciiString.cached("http");
  private static final ByteBuf CONTINUE = constant("HTTP/1.1 100 Continue\r\n\r\n");
  private static final ByteBuf CRLF = constant("\r\n");
  private static final ByteBuf LAST_CHUNK = constant("0\r\n\r\n");
  /**
   * Headers that say where a message ends (and where it goes): never removed because the other
   * side named them in Connection, or "Connection: content-length" would turn a request's body into
   * a second request the pod reads on the same connection (request smuggling).
   */
  private static final Set<String> FRAMING = Set.of("content-length", "host");
  /** Messages read ahead of their turn before this connection stops reading. */
  private static final int MAX_QUEUED = 16;
  private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS, HttpMethod.PUT,
      HttpMethod.DELETE, HttpMethod.TRACE);

  private final ProxyServer server;
  private final ProxyServer.UpstreamPool pool;
  private final ArrayDeque<Object> queued = new ArrayDeque<>();
  /** How long a connection closed after a refused Expect keeps reading (and dropping) before it closes. */
  static final long LINGER_MS = 2000;
  /** Answered a refused Expect: the output is shut, input is dropped until the close. */
  private boolean lingering;
  private ChannelHandlerContext ctx;
  private String clientIp;
  private boolean inDrain;
  /** When the connection last had no exchange in progress (System.nanoTime). */
  private long idleSince = System.nanoTime();
  private boolean upNeedsFlush;

  // The exchange in progress.
  private boolean active;
  private boolean requestDone;
  private boolean responseDone;
  private boolean discarding;
  private boolean connecting;
  private boolean responseStarted;
  private boolean closeAfter;
  private boolean upgrade;
  /** The response body goes to the client chunked, though the pod sized it by its close. */
  private boolean rechunk;
  private boolean headRequest;
  private boolean podKeepAlive;
  private boolean bodySent;
  private boolean reused;
  private boolean retried;
  private int status;
  private long started;
  private HttpVersion clientVersion;
  private HttpRequest head;
  private String sandboxId;
  private String podHost;
  private int podPort;
  private String podAddress;
  private UpstreamHandler up;
  private ByteBuf heldHead;
  /** This exchange, counted as activity of its sandbox while in progress (null once it ended). */
  private sh.navix.agentbox.extproc.activity.ActivityTracker.Request inFlight;

  ProxyConnection(ProxyServer server, ProxyServer.UpstreamPool pool) {
    this.server = server;
    this.pool = pool;
  }

  Channel channel() {
    return ctx.channel();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    server.opened(this);
    if (server.draining()) {
      ctx.close();
    }
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    server.closed(this);
    endInFlight();
    queued.forEach(ReferenceCountUtil::release);
    queued.clear();
    releaseHeldHead();
    if (up != null) {
      UpstreamHandler u = up;
      up = null;
      u.discard(); // the exchange did not finish: the pod connection is in an unknown state
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  /** Closes the connection if no request is in progress and none was since {@code cutoff} (System.nanoTime). */
  void closeIfIdleSince(long cutoff) {
    ctx.executor().execute(() -> {
      if (!active && queued.isEmpty() && idleSince - cutoff <= 0 && ctx.channel().isActive()
          && ctx.pipeline().get(ProxyConnection.class) == this) {
        ctx.close();
      }
    });
  }

  /** Called by the server when it stops: close now when idle, else after the response in progress. */
  void closeWhenIdle() {
    ctx.executor().execute(() -> {
      closeAfter = true;
      if (!active && ctx.channel().isActive() && ctx.pipeline().get(ProxyConnection.class) == this) {
        ctx.close();
      }
    });
  }

  // ---------------------------------------------------------------- client → pod

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (lingering) {
      ReferenceCountUtil.release(msg); // after a refused Expect: whatever still comes is dropped
      return;
    }
    if (!queued.isEmpty() || mustWait(msg)) {
      queued.add(msg);
      updateAutoRead();
      return;
    }
    handle(msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    flushToPod();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (up != null) {
      up.channel().config().setAutoRead(ctx.channel().isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** A request waits for the one before it; its body waits while its pod connection opens. */
  private boolean mustWait(Object msg) {
    return msg instanceof HttpRequest ? active : connecting;
  }

  private void handle(Object msg) {
    if (msg instanceof HttpRequest req) {
      if (!req.decoderResult().isSuccess()) {
        ReferenceCountUtil.release(msg);
        badRequest(req.decoderResult().cause());
        return;
      }
      begin(req);
      return; // HttpServerCodec never merges a body into the head
    }
    if (msg instanceof HttpContent c) {
      content(c);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  private void begin(HttpRequest req) {
    active = true;
    requestDone = responseDone = discarding = responseStarted = upgrade = rechunk = bodySent = retried = false;
    status = 0;
    started = System.nanoTime();
    clientVersion = req.protocolVersion();
    headRequest = HttpMethod.HEAD.equals(req.method());
    closeAfter = !HttpUtil.isKeepAlive(req) || server.draining();
    HttpHeaders h = req.headers();
    // Expect: 100-continue is answered here, in turn: only once this request is the one being
    // served (a pipelined request waits in the queue until then) and only once it has a route.
    // (An HTTP/1.0 client's Expect is ignored, RFC 9110 §10.1.1.)
    String expect = req.protocolVersion().compareTo(HttpVersion.HTTP_1_1) >= 0 ? h.get(HttpHeaderNames.EXPECT) : null;
    boolean expectsContinue = expect != null && HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect);
    if (expect != null && !expectsContinue) {
      refuseUnsent(HttpResponseStatus.EXPECTATION_FAILED, "{\"error\":" + Json.encode("unsupported Expect: " + expect) + "}", null);
      return;
    }
    String host = h.get(HttpHeaderNames.HOST);
    RouteDecision d = server.router.route(h::get, host, req.uri());
    if (d instanceof RouteDecision.Reject r) {
      if (expectsContinue) {
        refuseUnsent(HttpResponseStatus.valueOf(r.status()), r.body(), r.retryAfterSeconds());
      } else {
        respond(HttpResponseStatus.valueOf(r.status()), r.body(), r.retryAfterSeconds());
      }
      return;
    }
    if (expectsContinue) {
      ctx.writeAndFlush(CONTINUE.retainedDuplicate(), ctx.voidPromise());
    }
    RouteDecision.Route route = (RouteDecision.Route) d;
    sandboxId = route.sandboxId();
    inFlight = server.activity.requestStarted(sandboxId);
    upgrade = isWebSocketUpgrade(h);
    boolean chunked = HttpUtil.isTransferEncodingChunked(req);
    removeHopByHop(h);
    h.remove(DESTINATION);
    if (chunked) {
      h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    if (upgrade) {
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE).set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
    }
    forwarded(h, host);
    if (host == null) {
      h.set(HttpHeaderNames.HOST, route.host() + ":" + route.port());
    }
    req.setUri(route.path());
    req.setProtocolVersion(HttpVersion.HTTP_1_1);
    head = req;
    podHost = route.host();
    podPort = route.port();
    podAddress = podHost + ":" + podPort;
    UpstreamHandler pooled = upgrade ? null : pool.poll(podAddress);
    if (pooled != null) {
      attach(pooled, true);
      up.channel().write(head, up.channel().voidPromise());
      upNeedsFlush = true;
    } else {
      connect();
    }
  }

  private void connect() {
    connecting = true;
    updateAutoRead();
    pool.connect(podHost, podPort).addListener((ChannelFuture f) -> {
      connecting = false;
      if (!ctx.channel().isActive()) {
        if (f.isSuccess()) {
          f.channel().close();
        }
        return;
      }
      if (!f.isSuccess()) {
        badGateway(f.cause());
      } else {
        attach(f.channel().pipeline().get(UpstreamHandler.class), false);
        up.channel().write(head, up.channel().voidPromise());
        if (requestDone) {
          up.channel().write(LastHttpContent.EMPTY_LAST_CONTENT, up.channel().voidPromise()); // a retry of a bodiless request
        }
        upNeedsFlush = true;
      }
      resume();
    });
  }

  private void attach(UpstreamHandler u, boolean wasPooled) {
    up = u;
    reused = wasPooled;
    u.lend(this, podAddress);
    u.framer().expect(headRequest, upgrade);
    u.channel().config().setAutoRead(ctx.channel().isWritable());
  }

  private void content(HttpContent c) {
    if (!c.decoderResult().isSuccess()) {
      // A body the decoder could not read (a malformed chunk): Netty ends it with a failed last
      // part, which must not reach the pod as the end of a complete request. The pod connection
      // is dropped with the request half-sent, and the client gets a 400 and a close.
      Throwable cause = c.decoderResult().cause();
      c.release();
      if (up != null) {
        UpstreamHandler u = up;
        up = null;
        u.discard();
      }
      releaseHeldHead();
      if (responseStarted || responseDone) {
        ctx.close();
      } else {
        badRequest(cause);
      }
      return;
    }
    boolean last = c instanceof LastHttpContent;
    if (discarding || up == null) {
      c.release();
    } else {
      if (c.content().isReadable() || (last && !((LastHttpContent) c).trailingHeaders().isEmpty())) {
        bodySent = true;
      }
      up.channel().write(c, up.channel().voidPromise());
      upNeedsFlush = true;
      if (!up.channel().isWritable()) {
        updateAutoRead();
      }
    }
    if (last) {
      requestDone = true;
      flushToPod();
      maybeEnd();
    }
  }

  private void flushToPod() {
    if (upNeedsFlush && up != null) {
      upNeedsFlush = false;
      up.channel().flush();
    }
  }

  void upstreamWritabilityChanged() {
    updateAutoRead();
  }

  private void updateAutoRead() {
    boolean want = queued.size() < MAX_QUEUED && (up == null || up.channel().isWritable());
    if (ctx.channel().config().isAutoRead() != want) {
      ctx.channel().config().setAutoRead(want);
    }
  }

  /** Hands on the messages that waited for their turn, for as long as they may go. */
  private void resume() {
    if (inDrain) {
      return;
    }
    inDrain = true;
    try {
      while (!queued.isEmpty() && !mustWait(queued.peek()) && ctx.channel().isActive()) {
        handle(queued.poll());
      }
    } finally {
      inDrain = false;
    }
    flushToPod();
    updateAutoRead();
  }

  // ---------------------------------------------------------------- pod → client

  void fromUpstream(Object msg) {
    if (msg instanceof ByteBuf body) {
      writeHeldHead();
      if (rechunk) {
        if (!body.isReadable()) {
          body.release();
          return;
        }
        ctx.write(Unpooled.copiedBuffer(Integer.toHexString(body.readableBytes()) + "\r\n", StandardCharsets.US_ASCII), ctx.voidPromise());
        ctx.write(body, ctx.voidPromise());
        ctx.write(CRLF.retainedDuplicate(), ctx.voidPromise());
      } else {
        ctx.write(body, ctx.voidPromise());
      }
      if (!ctx.channel().isWritable()) {
        up.channel().config().setAutoRead(false);
      }
    } else if (msg == ResponseFramer.END) {
      writeHeldHead();
      if (rechunk) {
        ctx.write(LAST_CHUNK.retainedDuplicate(), ctx.voidPromise());
      }
      ctx.flush();
      responseEnded();
    } else if (msg instanceof ResponseFramer.Head h) {
      if (upgrade && h.status() == 101) {
        tunnel(h);
      } else if (h.status() < 200) {
        ctx.write(h.raw(), ctx.voidPromise()); // interim: passed on as it came
      } else {
        status = h.status();
        podKeepAlive = h.keepAlive();
        heldHead = responseHead(h); // written with the first body bytes, or at the end of this read
      }
    } else if (msg instanceof ResponseFramer.Malformed m) {
      UpstreamHandler u = up;
      up = null;
      u.discard();
      if (responseStarted) {
        ctx.close(); // the client has part of a response: only a close tells it so
      } else {
        releaseHeldHead();
        respond(HttpResponseStatus.BAD_GATEWAY, "{\"error\":" + Json.encode("sandbox " + sandboxId + " sent a malformed response: " + m.why()) + "}", null);
      }
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  void flushToClient() {
    writeHeldHead();
    ctx.flush();
  }

  private void writeHeldHead() {
    if (heldHead != null) {
      ctx.write(heldHead, ctx.voidPromise());
      heldHead = null;
      responseStarted = true;
    }
  }

  private void releaseHeldHead() {
    if (heldHead != null) {
      heldHead.release();
      heldHead = null;
    }
  }

  /**
   * The head the client gets: the pod's own bytes when they suit it as they are (the usual case:
   * an HTTP/1.1 head with no hop-by-hop headers, sized or chunked, to an HTTP/1.1 client that keeps
   * its connection), else a rewritten one. A body sized by the pod's close goes to an HTTP/1.1
   * client chunked; a chunked one to an HTTP/1.0 client as its data alone, ended by the close.
   */
  private ByteBuf responseHead(ResponseFramer.Head h) {
    boolean client10 = clientVersion.equals(HttpVersion.HTTP_1_0);
    boolean chunkedOut = h.framing() == ResponseFramer.Framing.CHUNKED && !client10;
    rechunk = h.framing() == ResponseFramer.Framing.UNTIL_CLOSE && !client10;
    if (client10 && (h.framing() == ResponseFramer.Framing.CHUNKED || h.framing() == ResponseFramer.Framing.UNTIL_CLOSE)) {
      closeAfter = true; // an HTTP/1.0 client reads an unsized body to the close
      if (h.framing() == ResponseFramer.Framing.CHUNKED) {
        up.framer().dechunk();
      }
    }
    if (h.clean() && !client10 && !closeAfter && !rechunk) {
      return h.raw();
    }
    ByteBuf raw = h.raw();
    try {
      ByteBuf rewritten = ResponseHeads.rewrite(raw, h, client10 ? "HTTP/1.0" : "HTTP/1.1", chunkedOut || rechunk, closeAfter,
          client10 && !closeAfter);
      return h.hasBody() ? rewritten.writeBytes(raw, raw.readerIndex() + h.headLength(), raw.readableBytes() - h.headLength()) : rewritten;
    } finally {
      raw.release();
    }
  }

  private void responseEnded() {
    UpstreamHandler u = up;
    up = null;
    if (podKeepAlive && requestDone && u.channel().isActive()) {
      u.giveBack();
    } else {
      u.discard();
    }
    responseDone = true;
    if (!requestDone) {
      discarding = true; // the pod answered before the body ended: the rest is read and dropped
    }
    maybeEnd();
  }

  /** The pod connection closed (or failed) during the exchange. */
  void upstreamClosed(UpstreamHandler u, Throwable cause) {
    if (u != up) {
      return;
    }
    up = null;
    if (responseStarted) {
      ctx.close(); // the client has part of a response: only a close tells it so
      return;
    }
    boolean headSeen = heldHead != null;
    releaseHeldHead(); // never sent: the client gets a 502 instead
    if (!headSeen && reused && !retried && !bodySent && !upgrade && IDEMPOTENT.contains(head.method())) {
      // A kept-alive connection the pod had closed: nothing reached it, so ask again on a new one.
      retried = true;
      server.upstreamRetries.increment();
      connect();
      return;
    }
    badGateway(cause);
  }

  private void badGateway(Throwable cause) {
    String why = cause == null ? "connection closed" : cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
    respond(HttpResponseStatus.BAD_GATEWAY, "{\"error\":" + Json.encode("sandbox " + sandboxId + " did not answer: " + why) + "}", null);
  }

  private void badRequest(Throwable cause) {
    HttpResponseStatus s = cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        : cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
        : cause instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE : HttpResponseStatus.BAD_REQUEST;
    active = true;
    clientVersion = HttpVersion.HTTP_1_1;
    headRequest = false;
    closeAfter = true; // the stream cannot be trusted past a malformed request
    requestDone = true;
    respond(s, "{\"error\":" + Json.encode("malformed request: " + (cause == null ? "invalid" : cause.getMessage())) + "}", null);
  }

  /** Answers the exchange from the proxy itself (routing error, bad gateway); a body still coming is dropped. */
  private void respond(HttpResponseStatus s, String json, Integer retryAfter) {
    status = s.code();
    ctx.writeAndFlush(ResponseHeads.own(clientVersion.equals(HttpVersion.HTTP_1_0) ? "HTTP/1.0" : "HTTP/1.1", s, json, retryAfter, closeAfter,
        headRequest), ctx.voidPromise());
    responseDone = true;
    discarding = true;
    maybeEnd();
  }

  /**
   * Answers a request whose body the client holds back (it asked for 100 Continue first, or for an
   * expectation this proxy does not meet) and closes: that body never comes, and the connection
   * cannot tell it from a next request.
   */
  private void refuseUnsent(HttpResponseStatus s, String json, Integer retryAfter) {
    closeAfter = true;
    lingering = true;
    requestDone = true; // the exchange ends with this answer (and is counted); the held-back body is not awaited
    respond(s, json, retryAfter);
  }

  /**
   * Closes without losing the answer just sent: a client that stops waiting for 100 Continue sends
   * its body after all, and bytes arriving at a closed socket make the kernel reset the connection,
   * which can discard the answer before the client read it. So: FIN first, whatever still comes
   * is read and dropped, and the socket closes a moment later.
   */
  private void lingerThenClose() {
    ctx.channel().config().setAutoRead(true);
    if (ctx.channel() instanceof io.netty.channel.socket.SocketChannel socket) {
      socket.shutdownOutput();
    }
    ctx.executor().schedule((Runnable) ctx::close, LINGER_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private void maybeEnd() {
    if (!active || !requestDone || !responseDone) {
      return;
    }
    active = false;
    endInFlight();
    head = null;
    idleSince = System.nanoTime();
    server.responses[Math.min(5, Math.max(1, status / 100))].increment();
    server.requestTime.record(idleSince - started, java.util.concurrent.TimeUnit.NANOSECONDS);
    if (closeAfter) {
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(lingering ? f -> lingerThenClose() : ChannelFutureListener.CLOSE);
      return;
    }
    resume();
  }

  private void endInFlight() {
    if (inFlight != null) {
      inFlight.ended();
      inFlight = null;
    }
  }

  // ---------------------------------------------------------------- WebSocket

  /** The pod accepted the upgrade: the 101 goes to the client and both connections become a byte tunnel. */
  private void tunnel(ResponseFramer.Head h) {
    UpstreamHandler u = up;
    up = null;
    active = false;
    endInFlight(); // the tunnel counts from now on
    Channel pod = u.channel();
    Channel client = ctx.channel();
    ctx.writeAndFlush(h.raw(), ctx.voidPromise()); // the pod's 101, as it sent it
    server.responses[1].increment();
    String id = sandboxId;
    server.activity.tunnelOpened(id);
    boolean[] closed = {false};
    Runnable onClose = () -> {
      if (!closed[0]) {
        closed[0] = true;
        server.activity.tunnelClosed(id);
        server.closed(this);
      }
    };
    queued.forEach(ReferenceCountUtil::release);
    queued.clear();
    // Relays first, then the codecs come out: bytes they still hold go on to the relays.
    pod.pipeline().replace(UpstreamHandler.class, "tunnel", new TunnelRelay(client, onClose));
    pod.pipeline().remove("encoder");
    pod.pipeline().remove("codec");
    ctx.pipeline().replace(this, "tunnel", new TunnelRelay(pod, onClose));
    client.pipeline().remove("codec");
    pod.config().setAutoRead(true);
    client.config().setAutoRead(true);
  }

  // ---------------------------------------------------------------- headers

  static boolean isWebSocketUpgrade(HttpHeaders h) {
    String upgrade = h.get(HttpHeaderNames.UPGRADE);
    return upgrade != null && upgrade.equalsIgnoreCase("websocket");
  }

  /** Removes hop-by-hop headers, including those the Connection header names. */
  static void removeHopByHop(HttpHeaders h) {
    String connection = h.get(HttpHeaderNames.CONNECTION);
    // The usual value, a lone close / keep-alive / upgrade, names no other header.
    if (connection != null && (connection.indexOf(',') >= 0 || !isStandardConnectionToken(connection.trim()))) {
      for (String c : h.getAll(HttpHeaderNames.CONNECTION)) {
        for (String token : c.split(",")) {
          String t = token.trim().toLowerCase(Locale.ROOT);
          if (!t.isEmpty() && !isStandardConnectionToken(t) && !FRAMING.contains(t)) {
            h.remove(t);
          }
        }
      }
    }
    for (AsciiString name : HOP_BY_HOP) {
      h.remove(name);
    }
  }

  /** x-forwarded-for (the client appended to any the request brought), -host, -port, -proto. */
  private void forwarded(HttpHeaders h, String host) {
    if (clientIp == null && ctx.channel().remoteAddress() instanceof InetSocketAddress remote) {
      clientIp = remote.getAddress() == null ? remote.getHostString() : remote.getAddress().getHostAddress();
    }
    if (clientIp != null) {
      String prior = h.get(FORWARDED_FOR);
      h.set(FORWARDED_FOR, prior == null ? clientIp : prior + ", " + clientIp);
    }
    if (host != null) {
      h.set(FORWARDED_HOST, host);
      int colon = host.lastIndexOf(':');
      boolean hasPort = colon > 0 && colon > host.lastIndexOf(']');
      h.set(FORWARDED_PORT, hasPort ? host.substring(colon + 1) : Integer.toString(server.listenPort()));
    }
    h.set(FORWARDED_PROTO, HTTP);
  }

  private static ByteBuf constant(String s) {
    return Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII).asReadOnly());
  }

  private static boolean isStandardConnectionToken(String v) {
    return v.equalsIgnoreCase("close") || v.equalsIgnoreCase("keep-alive") || v.equalsIgnoreCase("upgrade");
  }

}
