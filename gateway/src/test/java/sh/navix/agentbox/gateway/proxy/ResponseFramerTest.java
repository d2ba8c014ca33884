package sh.navix.agentbox.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Where the pod's responses end, as the proxy sees it: each response is fed whole, and again one
 * byte per read, and must come out the same both ways: one head, the body bytes, one end.
 */
class ResponseFramerTest {

  /** What came out of the framer for one input. */
  record Framed(List<ResponseFramer.Head> heads, String body, int ends, List<String> malformed, boolean open) {
    ResponseFramer.Head head() {
      return heads.get(heads.size() - 1);
    }
  }

  static Framed frame(String response, boolean headRequest, boolean upgrade, boolean dechunk, boolean bytewise, boolean closeAfter) {
    return frame(response, headRequest, upgrade, dechunk, bytewise ? n -> 1 : n -> n, closeAfter);
  }

  /** Feeds the response in reads of {@code piece.applyAsInt(bytes left)} bytes. */
  static Framed frame(String response, boolean headRequest, boolean upgrade, boolean dechunk, java.util.function.IntUnaryOperator piece,
      boolean closeAfter) {
    ResponseFramer framer = new ResponseFramer();
    // As the proxy does, on seeing the head (before the body is framed): an HTTP/1.0 client wants the data alone.
    EmbeddedChannel ch = new EmbeddedChannel(framer, new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (dechunk && msg instanceof ResponseFramer.Head h && h.framing() == ResponseFramer.Framing.CHUNKED) {
          framer.dechunk();
        }
        ctx.fireChannelRead(msg);
      }
    });
    framer.expect(headRequest, upgrade);
    List<ResponseFramer.Head> heads = new ArrayList<>();
    StringBuilder body = new StringBuilder();
    List<String> malformed = new ArrayList<>();
    int[] ends = {0};
    byte[] bytes = response.getBytes(StandardCharsets.ISO_8859_1);
    for (int i = 0; i < bytes.length; ) {
      int n = Math.max(1, Math.min(piece.applyAsInt(bytes.length - i), bytes.length - i));
      ch.writeInbound(Unpooled.wrappedBuffer(bytes, i, n));
      i += n;
      drain(ch, heads, body, malformed, ends);
    }
    if (closeAfter) {
      ch.finish();
      drain(ch, heads, body, malformed, ends);
    }
    return new Framed(heads, body.toString(), ends[0], malformed, ch.isOpen());
  }

  private static void drain(EmbeddedChannel ch, List<ResponseFramer.Head> heads, StringBuilder body,
      List<String> malformed, int[] ends) {
    Object o;
    while ((o = ch.readInbound()) != null) {
      if (o instanceof ResponseFramer.Head h) {
        heads.add(h);
        // A sized body that came whole with its head is in the head's buffer.
        body.append(h.raw().toString(h.raw().readerIndex() + h.headLength(), h.raw().readableBytes() - h.headLength(), StandardCharsets.ISO_8859_1));
        h.raw().release();
      } else if (o instanceof ByteBuf b) {
        body.append(b.toString(StandardCharsets.ISO_8859_1));
        b.release();
      } else if (o == ResponseFramer.END) {
        ends[0]++;
      } else if (o instanceof ResponseFramer.Malformed m) {
        malformed.add(m.why());
      }
    }
  }

  /** Frames the response whole and bytewise; both must agree. */
  static Framed both(String response, boolean headRequest, boolean dechunk, boolean closeAfter) {
    Framed whole = frame(response, headRequest, false, dechunk, false, closeAfter);
    Framed bytewise = frame(response, headRequest, false, dechunk, true, closeAfter);
    assertThat(bytewise.body()).isEqualTo(whole.body());
    assertThat(bytewise.ends()).isEqualTo(whole.ends());
    assertThat(bytewise.malformed()).isEqualTo(whole.malformed());
    assertThat(bytewise.heads()).extracting(ResponseFramer.Head::status).isEqualTo(whole.heads().stream().map(ResponseFramer.Head::status).toList());
    return whole;
  }

  @Test
  void aSizedResponseEndsAfterItsLengthAndAPlainHeadIsClean() {
    Framed f = both("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", false, false, false);
    assertThat(f.head().status()).isEqualTo(200);
    assertThat(f.head().clean()).isTrue();
    assertThat(f.head().keepAlive()).isTrue();
    assertThat(f.head().framing()).isEqualTo(ResponseFramer.Framing.LENGTH);
    assertThat(f.body()).isEqualTo("hello");
    assertThat(f.ends()).isEqualTo(1);
  }

  @Test
  void aHeaderValueInUtf8IsNotMalformed() {
    String utf8 = new String("attachment; filename=\"café.txt\"".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    Framed f = both("HTTP/1.1 200 OK\r\nContent-Disposition: " + utf8 + "\r\nContent-Length: 2\r\n\r\nok", false, false, false);
    assertThat(f.malformed()).isEmpty();
    assertThat(f.body()).isEqualTo("ok");
    assertThat(f.head().clean()).isTrue();
  }

  @Test
  void aChunkedBodyPassesWithItsFramingOrAsItsDataAloneAndEndsAfterItsTrailers() {
    String r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n";
    Framed framed = both(r, false, false, false);
    assertThat(framed.head().framing()).isEqualTo(ResponseFramer.Framing.CHUNKED);
    assertThat(framed.head().clean()).as("Transfer-Encoding is hop-by-hop").isFalse();
    assertThat(framed.body()).isEqualTo("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n");
    assertThat(framed.ends()).isEqualTo(1);
    Framed data = both(r, false, true, false);
    assertThat(data.body()).isEqualTo("hello world");
    assertThat(data.ends()).isEqualTo(1);
  }

  @Test
  void noBodyForHeadRequests204s304sAndInterimResponses() {
    Framed head = both("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, false, false);
    assertThat(head.ends()).isEqualTo(1);
    assertThat(head.body()).isEmpty();
    Framed noContent = both("HTTP/1.1 204 No Content\r\n\r\n", false, false, false);
    assertThat(noContent.ends()).isEqualTo(1);
    Framed interim = both("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, false, false);
    assertThat(interim.heads()).extracting(ResponseFramer.Head::status).containsExactly(103, 200);
    assertThat(interim.body()).isEqualTo("ok");
    assertThat(interim.ends()).isEqualTo(1);
  }

  @Test
  void anUnsizedBodyEndsAtTheCloseAndTheConnectionIsNotKept() {
    Framed f = both("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", false, false, true);
    assertThat(f.head().framing()).isEqualTo(ResponseFramer.Framing.UNTIL_CLOSE);
    assertThat(f.head().keepAlive()).isFalse();
    assertThat(f.body()).isEqualTo("until the end");
    assertThat(f.ends()).isEqualTo(1);
  }

  @Test
  void transferEncodingOverridesContentLengthWhichIsDropped() {
    Framed f = both("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false, false, false);
    assertThat(f.head().framing()).isEqualTo(ResponseFramer.Framing.CHUNKED);
    assertThat(f.head().drop()).contains("content-length");
    assertThat(f.body()).isEqualTo("2\r\nok\r\n0\r\n\r\n");
    assertThat(f.ends()).isEqualTo(1);
    assertThat(f.head().codings()).isNull();
  }

  /** Codings before the final chunked one stay with the head (the body is still in them); without chunked last, the body runs to the close. */
  @Test
  void transferCodingsOtherThanChunkedAreKeptForTheRewrittenHead() {
    Framed gzip = both("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false, false, false);
    assertThat(gzip.head().framing()).isEqualTo(ResponseFramer.Framing.CHUNKED);
    assertThat(gzip.head().codings()).isEqualTo("gzip");
    Framed gzipOnly = both("HTTP/1.1 200 OK\r\nTransfer-Encoding: GZIP\r\n\r\nzipped", false, false, true);
    assertThat(gzipOnly.head().framing()).isEqualTo(ResponseFramer.Framing.UNTIL_CLOSE);
    assertThat(gzipOnly.head().codings()).isEqualTo("gzip");
    assertThat(gzipOnly.body()).isEqualTo("zipped");
  }

  @Test
  void http10AndConnectionTokensDecideWhetherThePodKeepsTheConnection() {
    assertThat(both("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, false, false).head().keepAlive()).isFalse();
    Framed kept = both("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false, false, false);
    assertThat(kept.head().keepAlive()).isTrue();
    assertThat(kept.head().http10()).isTrue();
    Framed closing = both("HTTP/1.1 200 OK\r\nConnection: close, x-private\r\nx-private: 1\r\nContent-Length: 0\r\n\r\n", false, false, false);
    assertThat(closing.head().keepAlive()).isFalse();
    assertThat(closing.head().drop()).containsExactly("x-private");
  }

  @Test
  void whatCannotBeFramedIsMalformedNeverGuessedAt() {
    for (String r : List.of(
        "HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nok",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 200 OK\r\nbad name: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nx-a: 1\rx-b: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 200 OK\r\nx-big: " + "a".repeat(ResponseFramer.MAX_HEAD) + "\r\n\r\n")) {
      Framed f = both(r, false, false, false);
      assertThat(f.malformed()).as(r.length() > 80 ? r.substring(0, 80) : r).hasSize(1);
      assertThat(f.ends()).isZero();
    }
  }

  @Test
  void bytesAfterTheResponseEndsAreMalformedNotANextResponse() {
    Framed f = both("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false, false);
    assertThat(f.heads()).hasSize(1);
    assertThat(f.body()).isEqualTo("ok");
    assertThat(f.ends()).isEqualTo(1);
    assertThat(f.malformed()).containsExactly("bytes sent with no request outstanding");
  }

  @Test
  void afterA101ToAnUpgradeEverythingPassesAsItComes() {
    Framed f = frame("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u0081\u0002hi", false, true, false, true, false);
    assertThat(f.heads()).extracting(ResponseFramer.Head::status).containsExactly(101);
    assertThat(f.body()).isEqualTo("\u0081\u0002hi");
    assertThat(f.malformed()).isEmpty();
  }

  @Test
  void randomResponsesReadInRandomPiecesFrameAsTheyWereWritten() {
    java.util.Random random = new java.util.Random(20261206);
    for (int round = 0; round < 400; round++) {
      StringBuilder data = new StringBuilder();
      int length = random.nextInt(4) == 0 ? 0 : random.nextInt(3000);
      for (int i = 0; i < length; i++) {
        data.append((char) random.nextInt(256)); // any byte, CR and LF included
      }
      StringBuilder head = new StringBuilder("HTTP/1.1 200 OK\r\n");
      for (int h = random.nextInt(6); h > 0; h--) {
        head.append("x-h").append(h).append(':').append(" ".repeat(random.nextInt(3))).append(Long.toString(random.nextLong(), 36)).append("\r\n");
      }
      int framing = random.nextInt(3);
      String body;
      if (framing == 0) {
        head.append("Content-Length: ").append(length).append("\r\n");
        body = data.toString();
      } else if (framing == 1) {
        head.append("Transfer-Encoding: chunked\r\n");
        StringBuilder chunks = new StringBuilder();
        for (int at = 0; at < length; ) {
          int n = Math.min(length - at, 1 + random.nextInt(700));
          chunks.append(Integer.toHexString(n)).append(random.nextBoolean() ? ";x=" + n : "").append("\r\n")
              .append(data, at, at + n).append("\r\n");
          at += n;
        }
        chunks.append("0\r\n").append(random.nextBoolean() ? "x-trailer: " + round + "\r\n" : "").append("\r\n");
        body = chunks.toString();
      } else {
        body = data.toString();
      }
      String response = head.append("\r\n").append(body).toString();
      boolean dechunk = framing == 1 && random.nextBoolean();
      int maxPiece = 1 + random.nextInt(random.nextBoolean() ? 8 : 2000);
      Framed f = frame(response, false, false, dechunk, n -> 1 + random.nextInt(maxPiece), framing == 2);
      String seed = "round " + round + " framing " + framing + " dechunk " + dechunk + " pieces up to " + maxPiece;
      assertThat(f.malformed()).as(seed).isEmpty();
      assertThat(f.heads()).as(seed).hasSize(1);
      assertThat(f.ends()).as(seed).isEqualTo(1);
      assertThat(f.body()).as(seed).isEqualTo(dechunk ? data.toString() : body);
    }
  }
}
