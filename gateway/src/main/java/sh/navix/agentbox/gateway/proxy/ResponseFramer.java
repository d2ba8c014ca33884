package sh.navix.agentbox.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads a pod's responses off its connection without decoding them into header objects: it finds
 * where each response's head and body end (RFC 9112 §6.3) and hands the bytes on as they came, as
 * slices of what was read. What it passes on: a {@link Head} (the head's bytes and what the proxy
 * needs to know of it), then the body as {@link ByteBuf}s (a chunked body with its chunk framing,
 * unless {@link #dechunk()} asked for the data alone), then {@link #END}; or a {@link Malformed}
 * when the pod's bytes are not a response it can frame, after which it passes nothing more. An
 * interim (1xx) response is a head alone; after a 101 to an upgrade request, whatever follows is
 * passed on as it comes.
 *
 * <p>Strict where framing is at stake, since the pod runs code the proxy does not trust and its
 * client connection may carry other sandboxes' requests next: a folded header line, two different
 * {@code Content-Length}s, a malformed chunk size or a head over {@value #MAX_HEAD} bytes is
 * refused, never guessed at.
 */
final class ResponseFramer extends MessageFramer {
  /**
   * A response head. {@code raw} (owned by the receiver) is the head's bytes, its first {@code
   * headLength}; when the whole of a sized body came with the head, the body follows in {@code raw}
   * (so the usual small response goes on as one buffer) and {@link #END} comes next. {@code
   * codings}: the body's transfer codings other than a final chunked ("gzip"), which a rewritten
   * head must keep; null when there are none.
   */
  record Head(int status, boolean http10, boolean keepAlive, Framing framing, boolean clean, Set<String> drop, ByteBuf raw, int headLength,
      String codings) {
    boolean hasBody() {
      return raw.readableBytes() > headLength;
    }
  }

  private static final byte[] CONTENT_LENGTH = lower("content-length");
  private static final byte[] TRANSFER_ENCODING = lower("transfer-encoding");
  private static final byte[] CONNECTION = lower("connection");
  /** Hop-by-hop response headers (RFC 9110 §7.6.1): their presence means the head must be rewritten. */
  private static final List<byte[]> HOP_BY_HOP = List.of(CONNECTION, lower("keep-alive"), lower("proxy-authenticate"),
      lower("proxy-authorization"), lower("te"), lower("trailer"), lower("upgrade"), lower("proxy-connection"), TRANSFER_ENCODING);

  private boolean headRequest;
  private boolean upgradeRequest;

  ResponseFramer() {
    super(State.IDLE);
  }

  /** A request has gone out on this connection: its response comes next. */
  void expect(boolean headRequest, boolean upgradeRequest) {
    this.headRequest = headRequest;
    this.upgradeRequest = upgradeRequest;
    reset();
    state = State.HEAD;
  }

  @Override
  void bodyEnded(List<Object> out) {
    state = State.IDLE;
    out.add(END);
  }

  @Override
  int malformedStatus() {
    return 502;
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    if (in.isReadable()) {
      decode(ctx, in, out);
    }
    if (state == State.UNTIL_CLOSE) {
      bodyEnded(out); // a body delimited by the close is complete now
    }
  }

  private void fail(ByteBuf in, List<Object> out, String why) {
    fail(in, out, 502, why);
  }

  // ------------------------------------------------------------------------------------ head

  @Override
  void head(ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int end = headEnd(in);
    if (end < 0) {
      if (in.readableBytes() >= MAX_HEAD) {
        fail(in, out, "response head over " + MAX_HEAD + " bytes");
      }
      return; // more to come
    }
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    int lf = firstLf(); // found by headEnd's search
    int lineEnd = lineEnd(in, start, lf);
    if (lineEnd - start < 12 || !startsWith(in, start, "HTTP/1.") || in.getByte(start + 8) != ' ' || hasBareCr(in, start, lineEnd)) {
      fail(in, out, "malformed status line");
      return;
    }
    byte minor = in.getByte(start + 7);
    if (minor != '0' && minor != '1') {
      fail(in, out, "unsupported HTTP version");
      return;
    }
    boolean http10 = minor == '0';
    int status = 0;
    for (int i = start + 9; i < start + 12; i++) {
      byte b = in.getByte(i);
      if (b < '0' || b > '9') {
        fail(in, out, "malformed status code");
        return;
      }
      status = status * 10 + (b - '0');
    }
    if (status < 100 || (lineEnd > start + 12 && in.getByte(start + 12) != ' ')) {
      fail(in, out, "malformed status line");
      return;
    }
    // Header lines.
    boolean clean = !http10;
    String transferCodings = null;
    long contentLength = -1;
    ConnectionOptions connection = null;
    int line = lf + 1;
    while (true) {
      int l = in.indexOf(line, end, (byte) '\n');
      int le = lineEnd(in, line, l);
      if (le == line) {
        break; // the empty line
      }
      if (!validHeaderLine(in, line, le)) {
        fail(in, out, "malformed header line");
        return;
      }
      int colon = in.indexOf(line, le, (byte) ':');
      int nameLen = colon - line;
      if (nameIs(in, line, nameLen, CONTENT_LENGTH)) {
        long v = contentLength(in, colon + 1, le);
        if (v < 0 || (contentLength >= 0 && v != contentLength)) {
          fail(in, out, "invalid or conflicting Content-Length");
          return;
        }
        contentLength = v;
      } else if (hopByHop(in, line, nameLen)) {
        clean = false;
        String value = in.toString(colon + 1, le - colon - 1, StandardCharsets.ISO_8859_1).trim().toLowerCase(Locale.ROOT);
        if (nameIs(in, line, nameLen, TRANSFER_ENCODING)) {
          transferCodings = transferCodings == null ? value : transferCodings + ", " + value; // the lines in order make one list
        } else if (nameIs(in, line, nameLen, CONNECTION)) {
          connection = connection == null ? new ConnectionOptions() : connection;
          connection.add(value);
        }
      }
      line = l + 1;
    }
    boolean keepAlive = keepAlive(connection, http10);
    Set<String> drop = connection == null ? null : connection.named;
    // Only the last coding says where the body ends: chunked must be the final one.
    boolean chunked = chunkedLast(transferCodings);
    String codings = transferCodings == null ? null : chunked ? otherCodings(transferCodings) : transferCodings;
    Framing framing;
    if (status < 200 || status == 204 || status == 304 || headRequest) {
      framing = Framing.NONE;
      codings = null;
    } else if (transferCodings != null) {
      // Transfer-Encoding overrides Content-Length, which then goes (RFC 9112 §6.3).
      framing = chunked ? Framing.CHUNKED : Framing.UNTIL_CLOSE;
      if (contentLength >= 0) {
        drop = drop == null ? new HashSet<>() : drop;
        drop.add("content-length");
      }
    } else if (contentLength >= 0) {
      framing = Framing.LENGTH;
    } else {
      framing = Framing.UNTIL_CLOSE;
    }
    if (framing == Framing.UNTIL_CLOSE) {
      keepAlive = false;
    }
    if (framing == Framing.CHUNKED && chunkedTwice(transferCodings)) {
      fail(in, out, "Transfer-Encoding with chunked more than once");
      return;
    }
    if (status == 101 && !upgradeRequest) {
      fail(in, out, "101 Switching Protocols to a request that asked for no upgrade");
      return;
    }
    int headLength = end - start;
    boolean whole = framing == Framing.LENGTH && contentLength <= in.readableBytes() - headLength && status >= 200;
    Head h = new Head(status, http10, keepAlive, framing, clean && drop == null, drop == null ? Set.of() : drop,
        in.readRetainedSlice(headLength + (whole ? (int) contentLength : 0)), headLength, codings);
    out.add(h);
    if (status == 101) {
      state = State.PASS;
    } else if (status < 200) {
      state = State.HEAD; // interim: the final response follows
    } else {
      body(framing, whole ? 0 : contentLength, out);
    }
  }

  /** The codings before the final chunked one ("gzip" of "gzip, chunked"), or null. */
  private static String otherCodings(String codings) {
    int comma = codings.lastIndexOf(',');
    if (comma < 0) {
      return null;
    }
    String rest = codings.substring(0, comma).strip();
    return rest.isEmpty() || rest.replace(",", "").isBlank() ? null : rest;
  }

  /** Whether the bytes name a hop-by-hop header. */
  static boolean hopByHop(ByteBuf in, int from, int len) {
    for (byte[] name : HOP_BY_HOP) {
      if (nameIs(in, from, len, name)) {
        return true;
      }
    }
    return false;
  }
}
