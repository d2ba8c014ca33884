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
 * What the built-in proxy's two framers share ({@link RequestFramer} on the client's connection,
 * {@link ResponseFramer} on a pod's): finding where an HTTP/1.1 message's body ends (RFC 9112
 * §6.3, §7.1) without decoding it, and the strict checks on header lines. The body is passed on as
 * slices of what was read ({@link ByteBuf}s; a chunked body with its chunk framing unless {@link
 * #dechunk()} asked for the data alone), then {@link #END}; or a {@link Malformed}, after which
 * nothing more is passed on. A subclass reads the heads.
 */
abstract class MessageFramer extends ByteToMessageDecoder {
  static final int MAX_HEAD = 16 * 1024;
  static final int MAX_CHUNK_LINE = 4 * 1024;
  /** The end of the message in progress. */
  static final Object END = new Object() {
    @Override
    public String toString() {
      return "END";
    }
  };

  /**
   * The bytes cannot be framed as a message; nothing follows. {@code status} is what the sender
   * of a request is answered (a response's sender is a pod: its client gets a 502 whatever it is).
   */
  record Malformed(int status, String why) {}

  enum Framing { NONE, LENGTH, CHUNKED, UNTIL_CLOSE }

  enum State { IDLE, HEAD, LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, UNTIL_CLOSE, PASS, AWAIT, FAILED }

  State state;
  private boolean dechunk;
  private long remaining;

  MessageFramer(State initial) {
    this.state = initial;
  }

  /** The chunked body that follows is passed on as its data alone (for an HTTP/1.0 client). */
  void dechunk() {
    dechunk = true;
  }

  /** Reads a head at the reader index (state HEAD): passes it on and sets what follows, or waits for more. */
  abstract void head(ByteBuf in, List<Object> out);

  /** Where the body just passed on ended: sets the next state and passes {@link #END}. */
  abstract void bodyEnded(List<Object> out);

  /** What a malformed body or chunk is answered, when a request's. */
  abstract int malformedStatus();

  /** A body follows: {@code length} bytes of it, or chunks. */
  void body(Framing framing, long length, List<Object> out) {
    switch (framing) {
      case LENGTH -> {
        remaining = length;
        if (remaining == 0) {
          bodyEnded(out);
        } else {
          state = State.LENGTH;
        }
      }
      case CHUNKED -> state = State.CHUNK_SIZE;
      case UNTIL_CLOSE -> state = State.UNTIL_CLOSE;
      case NONE -> bodyEnded(out);
    }
  }

  /** Clears what the last message asked for (dechunking). */
  void reset() {
    dechunk = false;
  }

  @Override
  protected final void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    switch (state) {
      case HEAD -> head(in, out);
      case LENGTH -> {
        if (sized(in, out)) {
          bodyEnded(out);
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
            fail(in, out, malformedStatus(), "chunk data longer than its size");
          }
          return;
        }
        if (lineEnd(in, in.readerIndex(), lf) != in.readerIndex()) {
          fail(in, out, malformedStatus(), "chunk data longer than its size");
          return;
        }
        pass(in, lf + 1, out);
        state = State.CHUNK_SIZE;
      }
      case TRAILERS -> trailers(in, out);
      case UNTIL_CLOSE, PASS -> out.add(in.readRetainedSlice(in.readableBytes()));
      case IDLE -> fail(in, out, malformedStatus(), "bytes sent with no request outstanding");
      case AWAIT -> {
        // held where they are until the subclass is told what they are
      }
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

  final void fail(ByteBuf in, List<Object> out, int status, String why) {
    state = State.FAILED;
    in.skipBytes(in.readableBytes());
    out.add(new Malformed(status, why));
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
  private int findLf(ByteBuf in, int max) {
    resumeScan(in);
    int lf = scan(in, in.readerIndex() + Math.min(max, in.readableBytes()));
    if (lf >= 0) {
      scanFor = -1; // found: the caller reads the line (or fails)
    }
    return lf;
  }

  /** The LF ending the line at the reader index; -1 while the line has not all come, or (failed) when it runs over {@code max} bytes. */
  private int line(ByteBuf in, List<Object> out, int max, String what) {
    int lf = findLf(in, max);
    if (lf < 0 && in.readableBytes() >= max) {
      fail(in, out, malformedStatus(), what + " over " + max + " bytes");
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
        fail(in, out, malformedStatus(), "chunk size too large");
        return;
      }
      size = size * 16 + d;
    }
    byte next = i < lf ? in.getByte(i) : (byte) '\n';
    int lineEnd = lineEnd(in, start, lf);
    if (digits == 0 || (i < lineEnd && next != ';' && next != ' ' && next != '\t') || hasBareCr(in, start, lineEnd)) {
      fail(in, out, malformedStatus(), "malformed chunk size line");
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
        fail(in, out, malformedStatus(), "malformed trailer line");
        return;
      }
      if (dechunk) {
        in.readerIndex(lf + 1); // an HTTP/1.0 client takes no trailers
      } else {
        out.add(in.readRetainedSlice(lf + 1 - start));
      }
      if (last) {
        bodyEnded(out);
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------------ heads

  /** Whether a message's sender keeps its connection: HTTP/1.1 unless it says close, HTTP/1.0 only if it says keep-alive. */
  static boolean keepAlive(ConnectionOptions connection, boolean http10) {
    if (connection == null) {
      return !http10;
    }
    return !connection.close && (!http10 || connection.keepAlive);
  }

  /**
   * Whether the last of the transfer codings (the lines' values joined in order, lower case) is
   * chunked: only then does the body end where its chunks say.
   */
  static boolean chunkedLast(String codings) {
    return codings != null && codings.substring(codings.lastIndexOf(',') + 1).trim().equals("chunked");
  }

  /**
   * Whether chunked is among the codings before the last one too: applied more than once, which
   * no sender may do (RFC 9112 §7.1), and which two readers could undo a different number of times.
   */
  static boolean chunkedTwice(String codings) {
    int last = codings.lastIndexOf(',');
    for (int from = 0; from < last; ) {
      int comma = codings.indexOf(',', from);
      if (codings.substring(from, comma).trim().equals("chunked")) {
        return true;
      }
      from = comma + 1;
    }
    return false;
  }

  /** What the Connection header lines of a message say (RFC 9110 §7.6.1). */
  static final class ConnectionOptions {
    boolean close;
    boolean keepAlive;
    /** The other headers they mark as this hop's alone, lower case (never Host or Content-Length); null when none. */
    Set<String> named;

    void add(String value) {
      for (String token : value.toLowerCase(Locale.ROOT).split(",")) {
        String t = token.trim();
        if (t.equals("close")) {
          close = true;
        } else if (t.equals("keep-alive")) {
          keepAlive = true;
        } else if (!t.isEmpty() && !t.equals("upgrade") && !t.equals("content-length") && !t.equals("host")) {
          // Never the framing ones: "Connection: content-length" would otherwise turn a body into a next message.
          if (named == null) {
            named = new HashSet<>();
          }
          named.add(t);
        }
      }
    }
  }

  // Where the search for the end of a head (or of a line) at the reader index goes on when more
  // bytes come: what was searched is not searched again, so a head that comes a few bytes at a
  // time costs one pass over it, not one per read (which a client could use to burn CPU).
  /** The reader index the search state below belongs to; -1 when there is none. */
  private int scanFor = -1;
  /** The start of the head's first line not yet seen whole. */
  private int scanLine;
  /** No LF from {@code scanLine} up to here. */
  private int scannedTo;
  /** The LF ending the head's first line; -1 if not seen yet. */
  private int firstLf;

  private void resumeScan(ByteBuf in) {
    int start = in.readerIndex();
    if (scanFor != start) {
      scanFor = scanLine = scannedTo = start;
      firstLf = -1;
    }
  }

  /**
   * Where the head at the reader index ends (after its empty line: CRLF, or a bare LF as RFC 9112
   * §2.2 allows), looking no further than {@link #MAX_HEAD} bytes; -1 if it has not all come by
   * then.
   */
  final int headEnd(ByteBuf in) {
    resumeScan(in);
    int limit = in.readerIndex() + Math.min(in.readableBytes(), MAX_HEAD);
    while (true) {
      int lf = scan(in, limit);
      if (lf < 0) {
        return -1;
      }
      if (firstLf < 0) {
        firstLf = lf;
      }
      int line = scanLine;
      scanLine = scannedTo = lf + 1;
      if (lf == line || (lf == line + 1 && in.getByte(line) == '\r')) {
        scanFor = -1; // found: the caller reads the head (or fails)
        return lf + 1;
      }
    }
  }

  /**
   * The LF ending the first line (request or status line) of the head {@link #headEnd} last looked
   * at, whether or not it found the head's end; -1 if that line has not all come.
   */
  final int firstLf() {
    return firstLf;
  }

  /** The next LF from where the search stopped, before {@code limit}; -1 if none (the search then stops at {@code limit}). */
  private int scan(ByteBuf in, int limit) {
    int lf = scannedTo < limit ? in.indexOf(scannedTo, limit, (byte) '\n') : -1;
    if (lf < 0) {
      scannedTo = Math.max(scannedTo, limit);
    }
    return lf;
  }

  /** name ":" OWS value: a token name right before the colon, no bare CR, no control bytes but HTAB. */
  static boolean validHeaderLine(ByteBuf in, int from, int to) {
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
      int b = in.getByte(i) & 0xff; // obs-text (0x80-0xff) is allowed in a value
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

  static boolean hasBareCr(ByteBuf in, int from, int to) {
    return in.indexOf(from, to, (byte) '\r') >= 0;
  }

  static boolean isTokenChar(byte b) {
    if (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
      return true;
    }
    return switch (b) {
      case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~' -> true;
      default -> false;
    };
  }

  /** The value as a decimal length; -1 if it is not one (a list of equal values counts as one). */
  static long contentLength(ByteBuf in, int from, int to) {
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

  /** The field value between {@code from} and {@code to}, without the blanks around it. */
  static String value(ByteBuf in, int from, int to) {
    while (from < to && isBlank(in.getByte(from))) {
      from++;
    }
    while (to > from && isBlank(in.getByte(to - 1))) {
      to--;
    }
    return in.toString(from, to - from, StandardCharsets.ISO_8859_1);
  }

  private static boolean isBlank(byte b) {
    return b == ' ' || b == '\t';
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

  static boolean startsWith(ByteBuf in, int from, String prefix) {
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
