package sh.navix.agentbox.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Where a client's requests end, and what of their heads goes on, as the proxy sees it: each input
 * is fed whole, and again one byte per read, and must come out the same both ways.
 */
class RequestFramerTest {

  /** One request as it came out: its head, its header lines that go on, its body bytes (framing included), whether it ended. */
  record Out(RequestFramer.Head head, String fields, String body, boolean ended) {}

  record Framed(List<Out> requests, List<MessageFramer.Malformed> malformed, EmbeddedChannel channel, RequestFramer framer) {
    Out only() {
      assertThat(requests).hasSize(1);
      return requests.get(0);
    }
  }

  static Framed frame(String input, IntUnaryOperator piece) {
    RequestFramer framer = new RequestFramer();
    EmbeddedChannel ch = new EmbeddedChannel(framer);
    Framed f = new Framed(new ArrayList<>(), new ArrayList<>(), ch, framer);
    byte[] bytes = input.getBytes(StandardCharsets.ISO_8859_1);
    for (int i = 0; i < bytes.length; ) {
      int n = Math.max(1, Math.min(piece.applyAsInt(bytes.length - i), bytes.length - i));
      ch.writeInbound(Unpooled.wrappedBuffer(bytes, i, n));
      i += n;
      drain(f);
    }
    return f;
  }

  static void drain(Framed f) {
    Object o;
    while ((o = f.channel().readInbound()) != null) {
      if (o instanceof RequestFramer.Head h) {
        f.requests().add(new Out(h, h.fields().toString(StandardCharsets.ISO_8859_1), "", false));
        h.fields().release();
      } else if (o instanceof ByteBuf b) {
        Out last = f.requests().remove(f.requests().size() - 1);
        f.requests().add(new Out(last.head(), last.fields(), last.body() + b.toString(StandardCharsets.ISO_8859_1), false));
        b.release();
      } else if (o == MessageFramer.END) {
        Out last = f.requests().remove(f.requests().size() - 1);
        assertThat(last.ended()).as("one end per request").isFalse();
        f.requests().add(new Out(last.head(), last.fields(), last.body(), true));
      } else if (o instanceof MessageFramer.Malformed m) {
        f.malformed().add(m);
      }
    }
  }

  /** Frames the input whole and bytewise; both must agree. */
  static Framed both(String input) {
    Framed whole = frame(input, n -> n);
    Framed bytewise = frame(input, n -> 1);
    assertThat(summary(bytewise)).isEqualTo(summary(whole));
    return whole;
  }

  private static List<String> summary(Framed f) {
    List<String> s = new ArrayList<>();
    for (Out o : f.requests()) {
      RequestFramer.Head h = o.head();
      s.add(h.method() + " " + h.target() + " " + h.http10() + " " + h.keepAlive() + " " + h.framing() + " " + h.host() + " " + h.expect()
          + " " + h.webSocket() + " " + h.forwardedFor() + "|" + o.fields() + "|" + o.body() + "|" + o.ended());
    }
    f.malformed().forEach(m -> s.add(m.status() + " " + m.why()));
    return s;
  }

  @Test
  void aPlainRequestGoesOnWithItsHeaderLinesAsTheClientWroteThem() {
    Out o = both("GET /health?x=1 HTTP/1.1\r\nHost: 8080-abc.sandbox.localhost\r\nUser-Agent:  wrk \r\nX-Mixed-Case:a\r\n\r\n").only();
    assertThat(o.head().method()).isEqualTo("GET");
    assertThat(o.head().target()).isEqualTo("/health?x=1");
    assertThat(o.head().host()).isEqualTo("8080-abc.sandbox.localhost");
    assertThat(o.head().keepAlive()).isTrue();
    assertThat(o.head().framing()).isEqualTo(MessageFramer.Framing.NONE);
    assertThat(o.fields()).isEqualTo("Host: 8080-abc.sandbox.localhost\r\nUser-Agent:  wrk \r\nX-Mixed-Case:a\r\n");
    assertThat(o.ended()).isTrue();
  }

  @Test
  void headersThatStayOnTheClientsHopAreLeftOutAndTheFramingOnesNeverAre() {
    Out o = both("POST /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop, content-length, host\r\nX-Hop: secret\r\nKeep-Alive: 5\r\n"
        + "Proxy-Authorization: Basic abc\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: x\r\nUpgrade: h2c\r\nExpect: 100-continue\r\n"
        + "X-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Port: 1\r\nX-Forwarded-Proto: https\r\n"
        + "x-gateway-destination-endpoint: 10.9.9.9:80\r\nx-sandbox-id: abc\r\nx-sandbox-port: 8080\r\nContent-Length: 5\r\nx-kept: yes\r\n\r\nhello")
        .only();
    assertThat(o.fields()).isEqualTo("Host: h\r\nx-sandbox-id: abc\r\nx-sandbox-port: 8080\r\nContent-Length: 5\r\nx-kept: yes\r\n");
    assertThat(o.head().forwardedFor()).isEqualTo("10.0.0.1, 10.0.0.2");
    assertThat(o.head().expect()).isEqualTo("100-continue");
    assertThat(o.head().webSocket()).isFalse();
    assertThat(o.head().header("x-sandbox-id")).isEqualTo("abc");
    assertThat(o.head().header("x-sandbox-port")).isEqualTo("8080");
    assertThat(o.body()).isEqualTo("hello");
    assertThat(o.ended()).isTrue();
  }

  @Test
  void bareLineFeedsAreAcceptedAndGoOnAsCrlf() {
    Out o = both("\r\n\nGET / HTTP/1.1\nHost: h\nX-A: 1\n\n").only();
    assertThat(o.fields()).isEqualTo("Host: h\r\nX-A: 1\r\n");
    assertThat(o.ended()).isTrue();
  }

  @Test
  void http10KeepsItsConnectionOnlyWhenItAsksAndHttp11UnlessItSaysClose() {
    assertThat(both("GET / HTTP/1.0\r\n\r\n").only().head().keepAlive()).isFalse();
    assertThat(both("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").only().head().keepAlive()).isTrue();
    assertThat(both("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").only().head().keepAlive()).isFalse();
    RequestFramer.Head h = both("GET / HTTP/1.0\r\n\r\n").only().head();
    assertThat(h.http10()).isTrue();
    assertThat(h.host()).isNull();
  }

  @Test
  void sizedAndChunkedBodiesEndWhereTheirFramingSaysAndPipelinedRequestsFollow() {
    String chunked = "4;ext=1\r\nwiki\r\n5 \r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n";
    Framed f = both("PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
        + "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + chunked
        + "GET /c HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    assertThat(f.requests()).hasSize(3);
    assertThat(f.requests().get(0).body()).isEqualTo("hello world");
    assertThat(f.requests().get(1).head().framing()).isEqualTo(MessageFramer.Framing.CHUNKED);
    assertThat(f.requests().get(1).fields()).as("the codings stay with the body they describe").isEqualTo("Host: h\r\nTransfer-Encoding: gzip, chunked\r\n");
    assertThat(f.requests().get(1).body()).isEqualTo(chunked);
    assertThat(f.requests().get(2).head().target()).isEqualTo("/c");
    assertThat(f.requests()).allSatisfy(o -> assertThat(o.ended()).isTrue());
    assertThat(f.malformed()).isEmpty();
  }

  @Test
  void whatCouldBeReadTwoWaysIsRefusedWithTheStatusToAnswer() {
    String[][] cases = {
        {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", "400", "malformed header line"},
        {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", "400", "malformed header line"},
        {"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", "400", "malformed header line"},
        {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "400", "more than one Host header"},
        {"GET / HTTP/1.1\r\nX-A: a\r\n\r\n", "400", "HTTP/1.1 request without a Host header"},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "400", "invalid or conflicting Content-Length"},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\nhello", "400", "invalid or conflicting Content-Length"},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello", "400", "invalid or conflicting Content-Length"},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400", "both Content-Length and Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "400", "Transfer-Encoding whose final coding is not chunked"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", "400", "Transfer-Encoding with chunked more than once"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "400", "Transfer-Encoding with chunked more than once"},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400", "Transfer-Encoding in an HTTP/1.0 request"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400", "malformed chunk size line"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n", "400", "chunk data longer than its size"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", "400", "malformed trailer line"},
        {"this is not http\r\n\r\n", "400", "malformed request line"},
        {"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", "400", "malformed request line"},
        {"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", "400", "malformed request line"},
        {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", "400", "malformed method"},
        {"GET /\u0001 HTTP/1.1\r\nHost: h\r\n\r\n", "400", "malformed request target"},
        {"GET / HTTP/1.x\r\n\r\n", "400", "malformed HTTP version"},
        {"GET / HTTP/2.0\r\n\r\n", "505", "HTTP version 2.0 not supported"},
        {"GET / HTTP/1.1\r\nHost: h\r\n" + "x-big: " + "a".repeat(MessageFramer.MAX_HEAD) + "\r\n\r\n", "431", "request head over 16384 bytes"},
        {"GET /" + "a".repeat(RequestFramer.MAX_LINE) + " HTTP/1.1\r\nHost: h\r\n\r\n", "414", "request line over 8192 bytes"},
    };
    for (String[] c : cases) {
      Framed f = both(c[0] + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
      assertThat(f.malformed()).as(c[0]).containsExactly(new MessageFramer.Malformed(Integer.parseInt(c[1]), c[2]));
      assertThat(f.requests()).as("nothing complete is passed on, nor what follows: " + c[0]).allSatisfy(o -> assertThat(o.ended()).isFalse());
    }
  }

  @Test
  void bytesAfterAWebSocketUpgradeAreHeldUntilThePodHasAnswered() {
    String upgrade = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n";
    // Refused (no 101): the bytes held are the next request.
    Framed refused = frame(upgrade + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n", n -> n);
    Out o = refused.only();
    assertThat(o.head().webSocket()).isTrue();
    assertThat(o.fields()).isEqualTo("Host: h\r\nSec-WebSocket-Key: k\r\n");
    assertThat(refused.framer().awaiting()).isTrue();
    refused.framer().resumeAfterRefusedUpgrade();
    refused.channel().writeInbound(Unpooled.EMPTY_BUFFER);
    drain(refused);
    assertThat(refused.requests()).extracting(r -> r.head().target()).containsExactly("/ws", "/next");

    // Accepted: the framer comes out of the pipeline and hands on what it held, as it came.
    Framed accepted = frame(upgrade + "\u0081\u0002hi", n -> 7);
    assertThat(accepted.requests()).hasSize(1);
    accepted.channel().pipeline().remove(RequestFramer.class);
    ByteBuf held = accepted.channel().readInbound();
    assertThat(held.toString(StandardCharsets.ISO_8859_1)).isEqualTo("\u0081\u0002hi");
    held.release();
  }

  /** Random requests, pipelined and read in random pieces: each must frame exactly as written. */
  @Test
  void randomRequestsFrameExactlyAsWrittenWhateverPiecesTheyComeIn() {
    Random r = new Random(20261206);
    for (int round = 0; round < 300; round++) {
      int count = 1 + r.nextInt(4);
      StringBuilder input = new StringBuilder();
      List<String[]> expected = new ArrayList<>(); // target, fields, body
      for (int i = 0; i < count; i++) {
        String target = "/" + randomString(r, r.nextInt(30), "abcXYZ09-._~%/?=&");
        StringBuilder fields = new StringBuilder();
        for (int h = r.nextInt(6); h > 0; h--) {
          fields.append("X-R").append(randomString(r, 1 + r.nextInt(8), "abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&'*+.^`|~")).append(':')
              .append(r.nextBoolean() ? " " : "").append(randomString(r, r.nextInt(40), "abc XYZ\t09=;,\"\u00e9")).append("\r\n");
        }
        String body;
        String framing;
        switch (r.nextInt(3)) {
          case 0 -> {
            body = "";
            framing = "";
          }
          case 1 -> {
            body = randomBytes(r, r.nextInt(3000));
            framing = "Content-Length: " + body.length() + "\r\n";
          }
          default -> {
            StringBuilder b = new StringBuilder();
            for (int c = r.nextInt(5); c > 0; c--) {
              String data = randomBytes(r, 1 + r.nextInt(700));
              b.append(Integer.toHexString(data.length())).append(r.nextBoolean() ? ";x=y" : "").append("\r\n").append(data).append("\r\n");
            }
            b.append("0\r\n");
            if (r.nextBoolean()) {
              b.append("X-Trailer: ").append(randomString(r, 10, "abc ")).append("\r\n");
            }
            body = b.append("\r\n").toString();
            framing = "Transfer-Encoding: chunked\r\n";
          }
        }
        String allFields = "Host: h\r\n" + fields + framing;
        input.append(r.nextBoolean() ? "POST " : "GET ").append(target).append(" HTTP/1.1\r\n").append(allFields).append("\r\n").append(body);
        expected.add(new String[] {target, allFields, body});
      }
      Framed f = frame(input.toString(), left -> 1 + r.nextInt(Math.max(1, Math.min(left, 900))));
      assertThat(f.malformed()).as("round " + round).isEmpty();
      assertThat(f.requests()).as("round " + round).hasSize(count);
      for (int i = 0; i < count; i++) {
        Out o = f.requests().get(i);
        assertThat(o.head().target()).isEqualTo(expected.get(i)[0]);
        assertThat(o.fields()).isEqualTo(expected.get(i)[1]);
        assertThat(o.body()).isEqualTo(expected.get(i)[2]);
        assertThat(o.ended()).isTrue();
      }
    }
  }

  private static String randomString(Random r, int n, String alphabet) {
    StringBuilder s = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      s.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return s.toString();
  }

  private static String randomBytes(Random r, int n) {
    StringBuilder s = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      s.append((char) r.nextInt(256));
    }
    return s.toString();
  }
}
