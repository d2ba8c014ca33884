package sh.navix.agentbox.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * One direction of an upgraded connection (WebSocket): bytes from this channel go to the peer as
 * they come, reading stops while the peer cannot keep up, and a close on either side closes both.
 */
final class TunnelRelay extends ChannelInboundHandlerAdapter {
  private final Channel peer;
  private final Runnable onClose;

  TunnelRelay(Channel peer, Runnable onClose) {
    this.peer = peer;
    this.onClose = onClose;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf bytes = msg instanceof ByteBuf b ? b : msg instanceof ByteBufHolder h ? h.content() : null;
    if (bytes == null || !bytes.isReadable()) {
      ReferenceCountUtil.release(msg);
      return;
    }
    peer.write(bytes, peer.voidPromise());
    if (!peer.isWritable()) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    peer.flush();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    peer.config().setAutoRead(ctx.channel().isWritable());
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    onClose.run();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
