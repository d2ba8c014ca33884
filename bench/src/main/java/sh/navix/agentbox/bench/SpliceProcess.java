package sh.navix.agentbox.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The floor for a proxy on the JVM, for bench/proxy.sh: a TCP splice on Netty (NIO, as the
 * gateway's proxy runs), each client connection forwarded byte for byte to a connection of its
 * own to one fixed address. It reads no HTTP, routes nothing, counts nothing: what a Netty proxy
 * costs per request before it does any of a proxy's work. Not a product: it would forward any
 * request, and needs one upstream connection per client connection.
 * {@code java -jar agentbox-bench.jar splice --port P --target HOST:PORT [--threads N]}
 */
final class SpliceProcess {
  private SpliceProcess() {}

  static void run(String[] args) throws Exception {
    Map<String, String> a = ReconcileBench.flags(args);
    int port = Integer.parseInt(a.getOrDefault("--port", "18095"));
    String target = a.get("--target");
    if (target == null || target.lastIndexOf(':') < 1) {
      throw new IllegalArgumentException("--target HOST:PORT is required");
    }
    String host = target.substring(0, target.lastIndexOf(':'));
    int targetPort = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
    // As many event loops as Vert.x gives the gateway by default (two per core).
    int threads = Integer.parseInt(a.getOrDefault("--threads", Integer.toString(2 * Runtime.getRuntime().availableProcessors())));
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
    new ServerBootstrap().group(loops).channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new ClientSide(host, targetPort));
          }
        })
        .bind("127.0.0.1", port).sync();
    ReconcileBench.log("splice on 127.0.0.1:%d → %s (%d event loops)", port, target, threads);
    new CountDownLatch(1).await();
  }

  /** Bytes one way: written to the peer as read, flushed at the end of each read burst; reads pause while the peer cannot keep up. */
  private static class Relay extends ChannelInboundHandlerAdapter {
    Channel peer;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      peer.write(msg, peer.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      peer.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (peer != null) {
        peer.config().setAutoRead(ctx.channel().isWritable());
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (peer != null) {
        peer.close();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** The client's connection: opens its own connection to the target on the same event loop, then starts reading. */
  private static final class ClientSide extends Relay {
    private final String host;
    private final int port;

    ClientSide(String host, int port) {
      this.host = host;
      this.port = port;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      Channel client = ctx.channel();
      Relay back = new Relay();
      back.peer = client;
      ChannelFuture f = new Bootstrap().group(client.eventLoop()).channel(NioSocketChannel.class)
          .option(ChannelOption.TCP_NODELAY, true).handler(back).connect(host, port);
      peer = f.channel();
      f.addListener((ChannelFuture done) -> {
        if (done.isSuccess()) {
          client.config().setAutoRead(true);
        } else {
          client.close();
        }
      });
    }
  }
}
