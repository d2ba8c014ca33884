package sh.navix.agentbox.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Set;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.extproc.routing.RouteDecision;

/**
 * One client connection to the built-in proxy. Requests on it are served one after another
 * (pipelined ones wait their turn), as {@link RequestFramer} framed them: routed, their head
 * written to a pod connection from the event loop's pool as a request line of the proxy's, the
 * client's header lines that go on and the proxy's own, their body handed on as it arrives. The pod's
 * response comes back as the pod framed it ({@link ResponseFramer}): its bytes as they came when
 * its head suits the client as it is, else behind a rewritten head. A WebSocket handshake that the
 * pod accepts turns both connections into a byte tunnel.
 */
final class ProxyConnection extends ChannelInboundHandlerAdapter {
  private static final String FORWARDED_FOR = "x-forwarded-for: ";
  private static final byte[] HTTP11_CRLF = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] WEBSOCKET_UPGRADE = "connection: upgrade\r\nupgrade: websocket\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] FORWARDED_PROTO = "x-forwarded-proto: http\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final ByteBuf CONTINUE = constant("HTTP/1.1 100 Continue\r\n\r\n");
  private static final ByteBuf CRLF = constant("\r\n");
  private static final ByteBuf LAST_CHUNK = constant("0\r\n\r\n");
  /** Messages read ahead of their turn before this connection stops reading. */
  private static final int MAX_QUEUED = 16;
  private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE");

  private final ProxyServer server;
  private final ProxyServer.UpstreamPool pool;
  private final ArrayDeque<Object> queued = new ArrayDeque<>();
  /** How long a connection closed after a refused Expect keeps reading (and dropping) before it closes. */
  static final long LINGER_MS = 2000;
  /** Answered a refused Expect: the output is shut, input is dropped until the close. */
  private boolean lingering;
  private ChannelHandlerContext ctx;
  private RequestFramer framer;
  /** "x-forwarded-for: <client>\r\n", this connection's (null: its address is unknown). */
  private byte[] forwardedFor;
  /** The Host header of this connection's last request, and the x-forwarded-host/-port lines made of it. */
  private String forwardedFrom;
  private byte[] forwardedHost;
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
  private boolean client10;
  private String method;
  /** The request head as it goes to the pod (kept for a resend until the exchange ends). */
  private ByteBuf head;
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
    this.framer = ctx.pipeline().get(RequestFramer.class);
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
    releaseQueued();
    releaseHeldHead();
    releaseHead();
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
      release(msg); // after a refused Expect: whatever still comes is dropped
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
    if (msg instanceof RequestFramer.Malformed) {
      return active && !requestDone ? connecting : active; // a broken body, or a broken next request
    }
    return msg instanceof RequestFramer.Head ? active : connecting;
  }

  private void handle(Object msg) {
    if (msg instanceof RequestFramer.Head h) {
      try {
        begin(h);
      } finally {
        h.fields().release();
      }
    } else if (msg instanceof ByteBuf body) {
      content(body);
    } else if (msg == MessageFramer.END) {
      requestDone = true;
      flushToPod();
      maybeEnd();
    } else if (msg instanceof RequestFramer.Malformed m) {
      if (active && !requestDone) {
        bodyFailed(m);
      } else {
        badRequest(m);
      }
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  private void begin(RequestFramer.Head req) {
    active = true;
    requestDone = responseDone = discarding = responseStarted = upgrade = rechunk = bodySent = retried = false;
    status = 0;
    started = System.nanoTime();
    client10 = req.http10();
    headRequest = "HEAD".equals(req.method());
    method = req.method();
    closeAfter = !req.keepAlive() || server.draining();
    // Expect: 100-continue is answered here, in turn: only once this request is the one being
    // served (a pipelined request waits in the queue until then) and only once it has a route.
    // (An HTTP/1.0 client's Expect is ignored, RFC 9110 §10.1.1.)
    String expect = client10 ? null : req.expect();
    boolean expectsContinue = expect != null && HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect);
    if (expect != null && !expectsContinue) {
      refuseUnsent(HttpResponseStatus.EXPECTATION_FAILED, "{\"error\":" + Json.encode("unsupported Expect: " + expect) + "}", null);
      return;
    }
    String host = req.host();
    RouteDecision d = server.router.route(req::header, host, req.target());
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
    upgrade = req.webSocket();
    podHost = route.host();
    podPort = route.port();
    podAddress = podHost + ":" + podPort;
    head = podHead(req, route, host);
    UpstreamHandler pooled = upgrade ? null : pool.poll(podAddress);
    if (pooled != null) {
      attach(pooled, true);
      up.channel().write(head.retainedDuplicate(), up.channel().voidPromise());
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
        up.channel().write(head.retainedDuplicate(), up.channel().voidPromise());
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

  private void content(ByteBuf body) {
    if (discarding || up == null) {
      body.release();
      return;
    }
    bodySent |= body.isReadable();
    up.channel().write(body, up.channel().voidPromise());
    upNeedsFlush = true;
    if (!up.channel().isWritable()) {
      updateAutoRead();
    }
  }

  /**
   * A body the framer could not read (a malformed chunk) must not reach the pod as the end of a
   * complete request: the pod connection is dropped with the request half-sent, and the client gets
   * a 400 and a close.
   */
  private void bodyFailed(RequestFramer.Malformed m) {
    if (up != null) {
      UpstreamHandler u = up;
      up = null;
      u.discard();
    }
    releaseHeldHead();
    if (responseStarted || responseDone) {
      ctx.close();
    } else {
      requestDone = true;
      badRequest(m);
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
    // Bytes after an upgrade request are held unread by the framer: none more is read until the pod answers.
    boolean want = queued.size() < MAX_QUEUED && (up == null || up.channel().isWritable()) && !framer.awaiting();
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
      } else if (client10 && h.codings() != null) {
        h.raw().release();
        podFailed("sent a body in transfer coding " + h.codings() + ", which an HTTP/1.0 client cannot take");
      } else {
        status = h.status();
        podKeepAlive = h.keepAlive();
        heldHead = responseHead(h); // written with the first body bytes, or at the end of this read
      }
    } else if (msg instanceof ResponseFramer.Malformed m) {
      podFailed("sent a malformed response: " + m.why());
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /** The pod's response cannot go to the client: its connection is dropped and the client gets a 502 (or a close, if it has part of a response). */
  private void podFailed(String why) {
    UpstreamHandler u = up;
    up = null;
    u.discard();
    if (responseStarted) {
      ctx.close(); // the client has part of a response: only a close tells it so
    } else {
      releaseHeldHead();
      respond(HttpResponseStatus.BAD_GATEWAY, "{\"error\":" + Json.encode("sandbox " + sandboxId + " " + why) + "}", null);
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
    if (!headSeen && reused && !retried && !bodySent && !upgrade && IDEMPOTENT.contains(method)) {
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

  private void badRequest(RequestFramer.Malformed m) {
    active = true;
    client10 = false;
    headRequest = false;
    closeAfter = true; // the stream cannot be trusted past a malformed request
    requestDone = true;
    respond(HttpResponseStatus.valueOf(m.status()), "{\"error\":" + Json.encode("malformed request: " + m.why()) + "}", null);
  }

  /** Answers the exchange from the proxy itself (routing error, bad gateway); a body still coming is dropped. */
  private void respond(HttpResponseStatus s, String json, Integer retryAfter) {
    status = s.code();
    ctx.writeAndFlush(ResponseHeads.own(client10 ? "HTTP/1.0" : "HTTP/1.1", s, json, retryAfter, closeAfter,
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
    releaseHead();
    idleSince = System.nanoTime();
    server.responses[Math.min(5, Math.max(1, status / 100))].increment();
    server.requestTime.record(idleSince - started, java.util.concurrent.TimeUnit.NANOSECONDS);
    if (closeAfter) {
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(lingering ? f -> lingerThenClose() : ChannelFutureListener.CLOSE);
      return;
    }
    if (framer.awaiting()) {
      // An upgrade request answered without switching: what the framer held is the next request. It
      // is read in a task of its own, not from inside the framer's read that may have led here.
      framer.resumeAfterRefusedUpgrade();
      ctx.executor().execute(() -> {
        if (ctx.channel().isActive() && ctx.pipeline().get(RequestFramer.class) == framer) {
          ctx.pipeline().fireChannelRead(Unpooled.EMPTY_BUFFER);
          ctx.pipeline().fireChannelReadComplete();
        }
      });
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
    releaseQueued();
    releaseHead();
    // Relays first, then the codecs come out: bytes they still hold go on to the relays.
    pod.pipeline().replace(UpstreamHandler.class, "tunnel", new TunnelRelay(client, onClose));
    pod.pipeline().remove("codec");
    ctx.pipeline().replace(this, "tunnel", new TunnelRelay(pod, onClose));
    client.pipeline().remove("codec"); // hands on the bytes it held after the upgrade request
    pod.config().setAutoRead(true);
    client.config().setAutoRead(true);
  }

  // ---------------------------------------------------------------- headers

  /**
   * The request head as the pod gets it: the request line with the routed path in HTTP/1.1, the
   * client's header lines that go on ({@link RequestFramer.Head#fields()}), a WebSocket upgrade's
   * own two, {@code x-forwarded-for} (the client appended to any the request brought), {@code
   * -host}, {@code -port}, {@code -proto}, and a {@code Host} when the client sent none.
   */
  private ByteBuf podHead(RequestFramer.Head req, RouteDecision.Route route, String host) {
    if (forwardedFor == null && ctx.channel().remoteAddress() instanceof InetSocketAddress remote) {
      String ip = remote.getAddress() == null ? remote.getHostString() : remote.getAddress().getHostAddress();
      forwardedFor = (FORWARDED_FOR + ip + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }
    if (host != null && !host.equals(forwardedFrom)) {
      int colon = host.lastIndexOf(':');
      boolean hasPort = colon > 0 && colon > host.lastIndexOf(']');
      forwardedHost = ("x-forwarded-host: " + host + "\r\nx-forwarded-port: " + (hasPort ? host.substring(colon + 1) : server.listenPort())
          + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
      forwardedFrom = host;
    }
    String path = route.path();
    ByteBuf fields = req.fields();
    ByteBuf out = ctx.alloc().buffer(req.method().length() + path.length() + fields.readableBytes() + 160
        + (forwardedHost == null ? 0 : forwardedHost.length) + (req.forwardedFor() == null ? 0 : req.forwardedFor().length() + 2));
    out.writeCharSequence(req.method(), StandardCharsets.ISO_8859_1);
    out.writeByte(' ');
    out.writeCharSequence(path, StandardCharsets.ISO_8859_1);
    out.writeBytes(HTTP11_CRLF);
    out.writeBytes(fields, fields.readerIndex(), fields.readableBytes());
    if (upgrade) {
      out.writeBytes(WEBSOCKET_UPGRADE);
    }
    if (forwardedFor != null) {
      if (req.forwardedFor() != null) {
        out.writeCharSequence(FORWARDED_FOR + req.forwardedFor() + ", ", StandardCharsets.ISO_8859_1);
        out.writeBytes(forwardedFor, FORWARDED_FOR.length(), forwardedFor.length - FORWARDED_FOR.length()); // the client's address
      } else {
        out.writeBytes(forwardedFor);
      }
    } else if (req.forwardedFor() != null) {
      out.writeCharSequence(FORWARDED_FOR + req.forwardedFor() + "\r\n", StandardCharsets.ISO_8859_1);
    }
    if (host != null) {
      out.writeBytes(forwardedHost);
    } else {
      out.writeCharSequence("host: " + route.host() + ":" + route.port() + "\r\n", StandardCharsets.ISO_8859_1);
    }
    out.writeBytes(FORWARDED_PROTO); // and the empty line
    return out;
  }

  private void releaseHead() {
    if (head != null) {
      head.release();
      head = null;
    }
  }

  private void releaseQueued() {
    queued.forEach(ProxyConnection::release);
    queued.clear();
  }

  private static void release(Object msg) {
    if (msg instanceof RequestFramer.Head h) {
      h.fields().release();
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  private static ByteBuf constant(String s) {
    return Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII).asReadOnly());
  }

}
