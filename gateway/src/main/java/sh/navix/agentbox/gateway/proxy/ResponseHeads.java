package sh.navix.agentbox.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;

/** Response heads the built-in proxy writes itself: its own answers, and pod heads it must change. */
final class ResponseHeads {
  private ResponseHeads() {}

  /** An answer of the proxy's own: a JSON body (none to a HEAD request), sized. */
  static ByteBuf own(String version, HttpResponseStatus status, String json, Integer retryAfter, boolean close, boolean headRequest) {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    StringBuilder h = new StringBuilder(160).append(version).append(' ').append(status.code()).append(' ').append(status.reasonPhrase())
        .append("\r\ncontent-type: application/json\r\ncontent-length: ").append(body.length).append("\r\n");
    if (retryAfter != null) {
      h.append("retry-after: ").append(retryAfter).append("\r\n");
    }
    if (close) {
      h.append("connection: close\r\n");
    }
    h.append("\r\n");
    ByteBuf out = Unpooled.buffer(h.length() + (headRequest ? 0 : body.length));
    out.writeCharSequence(h, StandardCharsets.ISO_8859_1);
    if (!headRequest) {
      out.writeBytes(body);
    }
    return out;
  }

  /**
   * The pod's head (the first {@code h.headLength()} bytes of {@code raw}) as the client gets it: in {@code version}, without hop-by-hop
   * headers (and those the pod's Connection named, and a Content-Length that Transfer-Encoding
   * overrides), with {@code transfer-encoding: chunked} when the body goes chunked (after the pod's
   * other codings, which the body is still in), and the
   * connection's fate when it needs saying.
   */
  static ByteBuf rewrite(ByteBuf raw, ResponseFramer.Head h, String version, boolean chunked, boolean close, boolean keepAlive) {
    ByteBuf out = Unpooled.buffer(raw.readableBytes() + 64);
    int start = raw.readerIndex();
    int end = start + h.headLength();
    int lf = raw.indexOf(start, end, (byte) '\n');
    out.writeCharSequence(version, StandardCharsets.US_ASCII);
    out.writeBytes(raw, start + 8, ResponseFramer.lineEnd(raw, start, lf) - start - 8); // " 200 OK"
    out.writeByte('\r').writeByte('\n');
    int line = lf + 1;
    while (true) {
      int l = raw.indexOf(line, end, (byte) '\n');
      int le = ResponseFramer.lineEnd(raw, line, l);
      if (le == line) {
        break;
      }
      int colon = raw.indexOf(line, le, (byte) ':');
      if (!dropped(raw, line, colon - line, h)) {
        out.writeBytes(raw, line, le - line).writeByte('\r').writeByte('\n');
      }
      line = l + 1;
    }
    if (chunked) {
      out.writeCharSequence(h.codings() == null ? "transfer-encoding: chunked\r\n" : "transfer-encoding: " + h.codings() + ", chunked\r\n",
          StandardCharsets.ISO_8859_1);
    }
    if (close) {
      out.writeCharSequence("connection: close\r\n", StandardCharsets.US_ASCII);
    } else if (keepAlive) {
      out.writeCharSequence("connection: keep-alive\r\n", StandardCharsets.US_ASCII);
    }
    out.writeByte('\r').writeByte('\n');
    return out;
  }

  private static boolean dropped(ByteBuf raw, int from, int len, ResponseFramer.Head h) {
    if (ResponseFramer.hopByHop(raw, from, len)) {
      return true;
    }
    for (String name : h.drop()) {
      if (ResponseFramer.nameIs(raw, from, len, name.getBytes(StandardCharsets.ISO_8859_1))) {
        return true;
      }
    }
    return false;
  }
}
