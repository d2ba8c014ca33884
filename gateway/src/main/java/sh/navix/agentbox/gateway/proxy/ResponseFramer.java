package sh.navix.agentbox.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
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
final class ResponseFramer extends ByteToMessageDecoder {
  static final int MAX_HEAD = 16 * 1024;
  static final int MAX_CHUNK_LINE = 4 * 1024;
  /** The end of the response in progress. */
  static final Object END = new Object() {
    @Override
    public String toString() {
      return "END";
    }
  };

  /**
   * A response head. {@code raw} (owned by the receiver) is the head's bytes, its first {@code
   * headLength}; when the whole of a sized body came with the head, the body follows in {@code raw}
   * (so the usual small response goes on as one buffer) and {@link #END} comes next.
   */
  record Head(int status, boolean http10, boolean keepAlive, Framing framing, boolean clean, Set<String> drop, ByteBuf raw, int headLength) {
    boolean hasBody() {
      return raw.readableBytes() > headLength;
    }
  }

  /** The pod's bytes cannot be framed as a response; nothing follows. */
  record Malformed(String why) {}

  enum Framing { NONE, LENGTH, CHUNKED, UNTIL_CLOSE }

  private enum State { IDLE, HEAD, LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, UNTIL_CLOSE, PASS, FAILED }

  private static final byte[] CONTENT_LENGTH = lower("content-length");
  private static final byte[] TRANSFER_ENCODING = lower("transfer-encoding");
  private static final byte[] CONNECTION = lower("connection");
  /** Hop-by-hop response headers (RFC 9110 §7.6.1): their presence means the head must be rewritten. */
  private static final List<byte[]> HOP_BY_HOP = List.of(CONNECTION, lower("keep-alive"), lower("proxy-authenticate"),
      lower("proxy-authorization"), lower("te"), lower("trailer"), lower("upgrade"), lower("proxy-connection"), TRANSFER_ENCODING);

  private State state = State.IDLE;
  private boolean headRequest;
  private boolean upgradeRequest;
  private boolean dechunk;
  private long remaining;

  /** A request has gone out on this connection: its response comes next. */
  void expect(boolean headRequest, boolean upgradeRequest) {
    this.headRequest = headRequest;
    this.upgradeRequest = upgradeRequest;
    this.dechunk = false;
    state = State.HEAD;
  }

  /** The chunked body that follows is passed on as its data alone (for an HTTP/1.0 client). */
  void dechunk() {
    dechunk = true;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    switch (state) {
      case HEAD -> head(in, out);
      case LENGTH -> {
        if (sized(in, out)) {
          end(out);
        }
      }
      case CHUNK_SIZE -> chunkSize(in, out);
      case CHUNK_DATA -> {
        if (sized(in, out)) {
          state = State.CHUNK_END;
        }
      }
      case CHUNK_END -> {
        int lf = findLf(in, 2);
        if (lf < 0) {
          if (in.readableBytes() >= 2) {
            fail(in, out, "chunk data longer than its size");
          }
          return;
        }
        if (lineEnd(in, in.readerIndex(), lf) != in.readerIndex()) {
          fail(in, out, "chunk data longer than its size");
          return;
        }
        pass(in, lf + 1, out);
        state = State.CHUNK_SIZE;
      }
      case TRAILERS -> trailers(in, out);
      case UNTIL_CLOSE, PASS -> out.add(in.readRetainedSlice(in.readableBytes()));
      case IDLE -> fail(in, out, "bytes sent with no request outstanding");
      case FAILED -> in.skipBytes(in.readableBytes());
    }
  }

  /** Passes on what has come of the {@code remaining} bytes; whether they have all come. */
  private boolean sized(ByteBuf in, List<Object> out) {
    int n = (int) Math.min(remaining, in.readableBytes());
    out.add(in.readRetainedSlice(n));
    remaining -= n;
    return remaining == 0;
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    if (in.isReadable()) {
      decode(ctx, in, out);
    }
    if (state == State.UNTIL_CLOSE) {
      end(out); // a body delimited by the close is complete now
    }
  }

  private void end(List<Object> out) {
    state = State.IDLE;
    out.add(END);
  }

  private void fail(ByteBuf in, List<Object> out, String why) {
    state = State.FAILED;
    in.skipBytes(in.readableBytes());
    out.add(new Malformed(why));
  }

  /** Chunk framing bytes up to {@code to}: passed on unless only the data is wanted. */
  private void pass(ByteBuf in, int to, List<Object> out) {
    if (dechunk) {
      in.readerIndex(to);
    } else {
      out.add(in.readRetainedSlice(to - in.readerIndex()));
    }
  }

  /** Index of the LF ending the line at the reader index, or -1 if not within {@code max} bytes. */
  private static int findLf(ByteBuf in, int max) {
    int len = Math.min(max, in.readableBytes());
    return in.indexOf(in.readerIndex(), in.readerIndex() + len, (byte) '\n');
  }

  /** The LF ending the line at the reader index; -1 while the line has not all come, or (failed) when it runs over {@code max} bytes. */
  private int line(ByteBuf in, List<Object> out, int max, String what) {
    int lf = findLf(in, max);
    if (lf < 0 && in.readableBytes() >= max) {
      fail(in, out, what + " over " + max + " bytes");
    }
    return lf;
  }

  private void chunkSize(ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int lf = line(in, out, MAX_CHUNK_LINE, "chunk size line");
    if (lf < 0) {
      return;
    }
    long size = 0;
    int digits = 0;
    int i = start;
    for (; i < lf; i++) {
      int d = Character.digit(in.getByte(i), 16);
      if (d < 0) {
        break;
      }
      if (++digits > 15) {
        fail(in, out, "chunk size too large");
        return;
      }
      size = size * 16 + d;
    }
    byte next = i < lf ? in.getByte(i) : (byte) '\n';
    int lineEnd = lineEnd(in, start, lf);
    if (digits == 0 || (i < lineEnd && next != ';' && next != ' ' && next != '\t') || hasBareCr(in, start, lineEnd)) {
      fail(in, out, "malformed chunk size line");
      return;
    }
    pass(in, lf + 1, out);
    if (size == 0) {
      state = State.TRAILERS;
    } else {
      remaining = size;
      state = State.CHUNK_DATA;
    }
  }

  private void trailers(ByteBuf in, List<Object> out) {
    while (true) {
      int start = in.readerIndex();
      int lf = line(in, out, MAX_HEAD, "trailer line");
      if (lf < 0) {
        return;
      }
      int lineEnd = lineEnd(in, start, lf);
      boolean last = lineEnd == start;
      if (!last && !validHeaderLine(in, start, lineEnd)) {
        fail(in, out, "malformed trailer line");
        return;
      }
      if (dechunk) {
        in.readerIndex(lf + 1); // an HTTP/1.0 client takes no trailers
      } else {
        out.add(in.readRetainedSlice(lf + 1 - start));
      }
      if (last) {
        end(out);
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------------ head

  private void head(ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int limit = start + Math.min(in.readableBytes(), MAX_HEAD);
    // Where the head ends: an empty line (CRLF, or a bare LF as RFC 9112 §2.2 allows).
    int pos = start;
    int end = -1;
    while (pos < limit) {
      int lf = in.indexOf(pos, limit, (byte) '\n');
      if (lf < 0) {
        break;
      }
      if (lf == pos || (lf == pos + 1 && in.getByte(pos) == '\r')) {
        end = lf + 1;
        break;
      }
      pos = lf + 1;
    }
    if (end < 0) {
      if (in.readableBytes() >= MAX_HEAD) {
        fail(in, out, "response head over " + MAX_HEAD + " bytes");
      }
      return; // more to come
    }
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    int lf = in.indexOf(start, end, (byte) '\n');
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
    boolean chunked = false;
    boolean hasTransferEncoding = false;
    long contentLength = -1;
    boolean close = false;
    boolean keepAliveToken = false;
    Set<String> drop = null;
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
          hasTransferEncoding = true;
          // Only the last coding counts: chunked must be the final one.
          String[] codings = value.split(",");
          chunked = codings[codings.length - 1].trim().equals("chunked");
        } else if (nameIs(in, line, nameLen, CONNECTION)) {
          for (String token : value.split(",")) {
            String t = token.trim();
            if (t.equals("close")) {
              close = true;
            } else if (t.equals("keep-alive")) {
              keepAliveToken = true;
            } else if (!t.isEmpty() && !t.equals("upgrade") && !t.equals("content-length") && !t.equals("host")) {
              if (drop == null) {
                drop = new HashSet<>();
              }
              drop.add(t); // a header the pod marked hop-by-hop (never the framing ones)
            }
          }
        }
      }
      line = l + 1;
    }
    boolean keepAlive = http10 ? keepAliveToken && !close : !close;
    Framing framing;
    if (status < 200 || status == 204 || status == 304 || headRequest) {
      framing = Framing.NONE;
    } else if (hasTransferEncoding) {
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
    if (status == 101 && !upgradeRequest) {
      fail(in, out, "101 Switching Protocols to a request that asked for no upgrade");
      return;
    }
    int headLength = end - start;
    boolean whole = framing == Framing.LENGTH && contentLength <= in.readableBytes() - headLength && status >= 200;
    Head h = new Head(status, http10, keepAlive, framing, clean && drop == null, drop == null ? Set.of() : drop,
        in.readRetainedSlice(headLength + (whole ? (int) contentLength : 0)), headLength);
    out.add(h);
    if (status == 101) {
      state = State.PASS;
    } else if (status < 200) {
      state = State.HEAD; // interim: the final response follows
    } else {
      switch (framing) {
        case NONE -> end(out);
        case LENGTH -> {
          remaining = whole ? 0 : contentLength;
          if (remaining == 0) {
            end(out);
          } else {
            state = State.LENGTH;
          }
        }
        case CHUNKED -> state = State.CHUNK_SIZE;
        case UNTIL_CLOSE -> state = State.UNTIL_CLOSE;
      }
    }
  }

  /** name ":" OWS value: a token name right before the colon, no bare CR, no control bytes but HTAB. */
  private static boolean validHeaderLine(ByteBuf in, int from, int to) {
    int colon = in.indexOf(from, to, (byte) ':');
    if (colon <= from) {
      return false; // no colon, or an empty name; a line starting with SP/HTAB (obs-fold) fails below
    }
    for (int i = from; i < colon; i++) {
      if (!isTokenChar(in.getByte(i))) {
        return false;
      }
    }
    for (int i = colon + 1; i < to; i++) {
      byte b = in.getByte(i);
      if ((b < 0x20 && b != '\t') || b == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /** Where the line from {@code from} to the LF at {@code lf} ends: before its CR, if any. */
  static int lineEnd(ByteBuf in, int from, int lf) {
    return lf > from && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
  }

  private static boolean hasBareCr(ByteBuf in, int from, int to) {
    return in.indexOf(from, to, (byte) '\r') >= 0;
  }

  private static boolean isTokenChar(byte b) {
    if (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
      return true;
    }
    return switch (b) {
      case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~' -> true;
      default -> false;
    };
  }

  /** The value as a decimal length; -1 if it is not one (a list of equal values counts as one). */
  private static long contentLength(ByteBuf in, int from, int to) {
    long value = -1;
    long current = -1;
    for (int i = from; i <= to; i++) {
      byte b = i < to ? in.getByte(i) : (byte) ',';
      if (b >= '0' && b <= '9') {
        if (current > (Long.MAX_VALUE - 9) / 10) {
          return -1;
        }
        current = (current < 0 ? 0 : current * 10) + (b - '0');
      } else if (b == ',') {
        if (current < 0 || (value >= 0 && value != current)) {
          return -1;
        }
        value = current;
        current = -1;
      } else if (b != ' ' && b != '\t' || current >= 0 && i + 1 < to && Character.isDigit(in.getByte(i + 1))) {
        return -1; // not a digit, or digits split by blanks
      }
    }
    return value;
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

  /** Whether the bytes name {@code lower}, case-insensitively. */
  static boolean nameIs(ByteBuf in, int from, int len, byte[] lower) {
    if (len != lower.length) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      byte b = in.getByte(from + i);
      if (b >= 'A' && b <= 'Z') {
        b += 32;
      }
      if (b != lower[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean startsWith(ByteBuf in, int from, String prefix) {
    for (int i = 0; i < prefix.length(); i++) {
      if (in.getByte(from + i) != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  static byte[] lower(String s) {
    return s.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.ISO_8859_1);
  }
}
