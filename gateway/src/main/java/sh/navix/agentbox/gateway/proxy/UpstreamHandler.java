package sh.navix.agentbox.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * The pod side of one proxy connection: hands what the pod sends to the client connection it is
 * lent to, and goes back to its event loop's pool (or closes) when the exchange ends.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {
  private final ProxyServer.UpstreamPool pool;
  private ChannelHandlerContext ctx;
  private ResponseFramer framer;
  private ProxyConnection owner;
  private String key;
  private Throwable failure;
  private long idleSince;

  UpstreamHandler(ProxyServer.UpstreamPool pool) {
    this.pool = pool;
  }

  Channel channel() {
    return ctx.channel();
  }

  /** What frames the pod's responses on this connection. */
  ResponseFramer framer() {
    return framer;
  }

  /** Lends this connection to a client connection for one exchange. */
  void lend(ProxyConnection to, String address) {
    owner = to;
    key = address;
  }

  /** The exchange ended cleanly: back to the pool, reading again so a close by the pod is seen. */
  void giveBack() {
    owner = null;
    failure = null;
    idleSince = System.nanoTime();
    ctx.channel().config().setAutoRead(true);
    pool.offer(key, this);
  }

  /** When it last went back to the pool (System.nanoTime). */
  long idleSince() {
    return idleSince;
  }

  /** The exchange ended otherwise: this connection is not reused. */
  void discard() {
    owner = null;
    ctx.close();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.framer = ctx.pipeline().get(ResponseFramer.class);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (owner == null) {
      // Nothing is asked of an idle connection: whatever it sends is not HTTP we can place.
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    owner.fromUpstream(msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.flushToClient();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.upstreamWritabilityChanged();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    ProxyConnection o = owner;
    owner = null;
    if (o != null) {
      o.upstreamClosed(this, failure);
    } else if (key != null) {
      pool.forget(key, this);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    failure = cause;
    ctx.close();
  }
}
