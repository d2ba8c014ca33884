package sh.navix.agentbox.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import sh.navix.agentbox.extproc.routing.RequestTargets;

/**
 * Reads the client's requests off its connection without decoding them into header objects: for
 * each request it passes on a {@link Head} (what the proxy needs to route it, and its header lines
 * as bytes, those that stay on this hop already left out), then its body as {@link ByteBuf}s
 * (sized, or chunked with its chunk framing, as the client sent it), then {@link #END}; or a
 * {@link Malformed} with the status to answer, after which it passes nothing more.
 *
 * <p>The client is not trusted, and the pod connection its request goes on may carry other
 * requests next, so anything that could make the proxy and the pod disagree on where a request
 * ends is refused, never guessed at (RFC 9112 §6.3, §11.2): a folded header line, a space before a
 * colon, two different {@code Content-Length}s, {@code Transfer-Encoding} with {@code
 * Content-Length} or without chunked as its final coding or in HTTP/1.0, two {@code Host}s, a
 * malformed chunk, a bare CR. An HTTP/1.1 request without a {@code Host} is refused too (RFC 9112
 * §3.2); HTTP/1.0 has none to require. Limits: a request line of {@value #MAX_LINE} bytes (414), a head of
 * {@value #MAX_HEAD} (431).
 *
 * <p>After a WebSocket upgrade request, the bytes that follow are held, unread, until the proxy
 * knows what they are: the first frames of the tunnel once the pod has answered 101 (this framer
 * is then removed and hands them on as they are), or the next request if it did not ({@link
 * #resumeAfterRefusedUpgrade()}).
 */
final class RequestFramer extends MessageFramer {
  static final int MAX_LINE = 8 * 1024;

  /**
   * A request head. {@code fields} (owned by the receiver) are its header lines as the client sent
   * them, each ending in CRLF, without the request line, the empty line, and the headers that stay
   * on the client's hop: hop-by-hop ones (and those {@code Connection} names, never {@code Host} or
   * {@code Content-Length}), {@code Expect}, {@code x-forwarded-*} (the proxy sets its own; the
   * client's {@code x-forwarded-for} is in {@code forwardedFor}) and the gateway's internal
   * destination header. {@code Transfer-Encoding} stays: the body goes on as it came.
   */
  record Head(String method, String target, boolean http10, boolean keepAlive, Framing framing, String host, String expect,
      boolean webSocket, String forwardedFor, String sandboxId, String sandboxPort, String e2bSandboxId, String e2bSandboxPort,
      ByteBuf fields) {
    /** A routing header's value, or null. */
    String header(String name) {
      return switch (name) {
        case RequestTargets.HEADER_ID -> sandboxId;
        case RequestTargets.HEADER_PORT -> sandboxPort;
        case RequestTargets.E2B_HEADER_ID -> e2bSandboxId;
        case RequestTargets.E2B_HEADER_PORT -> e2bSandboxPort;
        default -> null;
      };
    }
  }

  // What a header line is to the proxy; names are matched by length first.
  private static final int OTHER = 0;
  private static final int HOST = 1;
  private static final int CONTENT_LENGTH = 2;
  private static final int TRANSFER_ENCODING = 3;
  private static final int CONNECTION = 4;
  private static final int UPGRADE = 5;
  private static final int EXPECT = 6;
  /** Dropped, nothing to read in it: keep-alive, proxy-*, te, trailer, x-forwarded-host/-port/-proto, the destination. */
  private static final int DROP = 7;
  private static final int FORWARDED_FOR = 8;
  private static final int SANDBOX_ID = 9;
  private static final int SANDBOX_PORT = 10;
  private static final int E2B_SANDBOX_ID = 11;
  private static final int E2B_SANDBOX_PORT = 12;
  private static final byte[][][] NAMES = new byte[32][][];
  private static final int[][] KINDS = new int[32][];

  static {
    String[] names = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "expect", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "proxy-connection", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto",
        RequestTargets.DESTINATION, "x-forwarded-for", RequestTargets.HEADER_ID, RequestTargets.HEADER_PORT, RequestTargets.E2B_HEADER_ID,
        RequestTargets.E2B_HEADER_PORT};
    int[] kinds = {HOST, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION, UPGRADE, EXPECT, DROP, DROP, DROP, DROP, DROP, DROP, DROP, DROP,
        DROP, DROP, FORWARDED_FOR, SANDBOX_ID, SANDBOX_PORT, E2B_SANDBOX_ID, E2B_SANDBOX_PORT};
    for (int i = 0; i < names.length; i++) {
      int len = names[i].length();
      byte[][] n = NAMES[len] == null ? new byte[0][] : NAMES[len];
      int[] k = KINDS[len] == null ? new int[0] : KINDS[len];
      n = Arrays.copyOf(n, n.length + 1);
      k = Arrays.copyOf(k, k.length + 1);
      n[n.length - 1] = lower(names[i]);
      k[k.length - 1] = kinds[i];
      NAMES[len] = n;
      KINDS[len] = k;
    }
  }

  /** The request just passed on asked for a WebSocket: what follows waits (state AWAIT). */
  private boolean webSocket;

  RequestFramer() {
    super(State.HEAD);
  }

  /** Whether bytes after an upgrade request are being held. */
  boolean awaiting() {
    return state == State.AWAIT;
  }

  /** The pod did not switch protocols: the bytes held after the upgrade request are the next request. */
  void resumeAfterRefusedUpgrade() {
    if (state == State.AWAIT) {
      state = State.HEAD;
    }
  }

  @Override
  void bodyEnded(List<Object> out) {
    state = webSocket ? State.AWAIT : State.HEAD;
    out.add(END);
  }

  @Override
  int malformedStatus() {
    return 400;
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (in.isReadable() && state != State.AWAIT) {
      decode(ctx, in, out); // a request cut short by the close is not passed on as complete
    }
  }

  /** Whether a header of this kind stays on the client's hop (is not passed to the pod as the client sent it). */
  private static boolean staysOnHop(int kind) {
    return kind == CONNECTION || kind == UPGRADE || kind == EXPECT || kind == DROP || kind == FORWARDED_FOR;
  }

  private static int kind(ByteBuf in, int from, int len) {
    if (len >= NAMES.length || NAMES[len] == null) {
      return OTHER;
    }
    byte[][] names = NAMES[len];
    for (int i = 0; i < names.length; i++) {
      if (nameIs(in, from, len, names[i])) {
        return KINDS[len][i];
      }
    }
    return OTHER;
  }

  @Override
  void head(ByteBuf in, List<Object> out) {
    // Empty lines before a request line are ignored (RFC 9112 §2.2).
    while (in.isReadable() && (in.getByte(in.readerIndex()) == '\n'
        || in.getByte(in.readerIndex()) == '\r' && in.readableBytes() > 1 && in.getByte(in.readerIndex() + 1) == '\n')) {
      in.skipBytes(in.getByte(in.readerIndex()) == '\r' ? 2 : 1);
    }
    if (!in.isReadable()) {
      return;
    }
    int start = in.readerIndex();
    int end = headEnd(in);
    int lf = firstLf(); // found by headEnd's search: not searched for again
    if (lf < 0 ? in.readableBytes() >= MAX_LINE : lf - start >= MAX_LINE) {
      fail(in, out, 414, "request line over " + MAX_LINE + " bytes");
      return;
    }
    if (end < 0) {
      if (in.readableBytes() >= MAX_HEAD) {
        fail(in, out, 431, "request head over " + MAX_HEAD + " bytes");
      }
      return; // more to come
    }
    // Request line: method SP request-target SP HTTP/1.x
    int lineEnd = lineEnd(in, start, lf);
    int sp1 = in.indexOf(start, lineEnd, (byte) ' ');
    int sp2 = sp1 < 0 ? -1 : in.indexOf(sp1 + 1, lineEnd, (byte) ' ');
    if (sp1 <= start || sp2 <= sp1 + 1 || lineEnd - sp2 != 9 || !startsWith(in, sp2 + 1, "HTTP/") || hasBareCr(in, start, lineEnd)) {
      fail(in, out, 400, "malformed request line");
      return;
    }
    for (int i = start; i < sp1; i++) {
      if (!isTokenChar(in.getByte(i))) {
        fail(in, out, 400, "malformed method");
        return;
      }
    }
    for (int i = sp1 + 1; i < sp2; i++) {
      byte b = in.getByte(i);
      if ((b >= 0 && b <= 0x20) || b == 0x7f) {
        fail(in, out, 400, "malformed request target");
        return;
      }
    }
    byte major = in.getByte(sp2 + 6);
    byte dot = in.getByte(sp2 + 7);
    byte minor = in.getByte(sp2 + 8);
    if (dot != '.' || major < '0' || major > '9' || minor < '0' || minor > '9') {
      fail(in, out, 400, "malformed HTTP version");
      return;
    }
    if (major != '1' || minor > '1') {
      fail(in, out, 505, "HTTP version " + (char) major + "." + (char) minor + " not supported");
      return;
    }
    boolean http10 = minor == '0';
    // Header lines.
    String host = null;
    long contentLength = -1;
    String transferCodings = null;
    ConnectionOptions connection = null;
    boolean upgradeWebSocket = false;
    String expect = null;
    String forwardedFor = null;
    String sandboxId = null;
    String sandboxPort = null;
    String e2bSandboxId = null;
    String e2bSandboxPort = null;
    boolean dropAny = false;
    boolean bareLf = lineEnd == lf;
    int fieldsStart = lf + 1;
    int line = fieldsStart;
    while (true) {
      int l = in.indexOf(line, end, (byte) '\n');
      int le = lineEnd(in, line, l);
      if (le == line) {
        break; // the empty line
      }
      bareLf |= le == l;
      if (!validHeaderLine(in, line, le)) {
        fail(in, out, 400, "malformed header line");
        return;
      }
      int colon = in.indexOf(line, le, (byte) ':');
      int kind = kind(in, line, colon - line);
      dropAny |= staysOnHop(kind);
      switch (kind) {
        case HOST -> {
          if (host != null) {
            fail(in, out, 400, "more than one Host header");
            return;
          }
          host = value(in, colon + 1, le);
        }
        case CONTENT_LENGTH -> {
          long v = contentLength(in, colon + 1, le);
          if (v < 0 || (contentLength >= 0 && v != contentLength)) {
            fail(in, out, 400, "invalid or conflicting Content-Length");
            return;
          }
          contentLength = v;
        }
        case TRANSFER_ENCODING -> {
          String v = value(in, colon + 1, le).toLowerCase(Locale.ROOT);
          transferCodings = transferCodings == null ? v : transferCodings + ", " + v; // the lines in order make one list
        }
        case CONNECTION -> {
          connection = connection == null ? new ConnectionOptions() : connection;
          connection.add(value(in, colon + 1, le));
        }
        case UPGRADE -> upgradeWebSocket = value(in, colon + 1, le).equalsIgnoreCase("websocket");
        case EXPECT -> {
          String v = value(in, colon + 1, le);
          expect = expect == null ? v : expect + ", " + v;
        }
        case FORWARDED_FOR -> {
          String v = value(in, colon + 1, le);
          forwardedFor = forwardedFor == null ? v : forwardedFor + ", " + v;
        }
        case SANDBOX_ID -> sandboxId = sandboxId == null ? value(in, colon + 1, le) : sandboxId;
        case SANDBOX_PORT -> sandboxPort = sandboxPort == null ? value(in, colon + 1, le) : sandboxPort;
        case E2B_SANDBOX_ID -> e2bSandboxId = e2bSandboxId == null ? value(in, colon + 1, le) : e2bSandboxId;
        case E2B_SANDBOX_PORT -> e2bSandboxPort = e2bSandboxPort == null ? value(in, colon + 1, le) : e2bSandboxPort;
        default -> {
        }
      }
      line = l + 1;
    }
    int emptyLine = line;
    if (host == null && !http10) {
      fail(in, out, 400, "HTTP/1.1 request without a Host header"); // RFC 9112 §3.2
      return;
    }
    Framing framing;
    if (transferCodings != null) {
      if (http10) {
        fail(in, out, 400, "Transfer-Encoding in an HTTP/1.0 request");
        return;
      }
      if (contentLength >= 0) {
        fail(in, out, 400, "both Content-Length and Transfer-Encoding");
        return;
      }
      if (!chunkedLast(transferCodings)) {
        fail(in, out, 400, "Transfer-Encoding whose final coding is not chunked");
        return;
      }
      if (chunkedTwice(transferCodings)) {
        fail(in, out, 400, "Transfer-Encoding with chunked more than once");
        return;
      }
      framing = Framing.CHUNKED;
    } else {
      framing = contentLength > 0 ? Framing.LENGTH : Framing.NONE;
    }
    // The header lines that go on: as they came when none stays behind, else copied without those that do.
    ByteBuf fields;
    if (!dropAny && !bareLf) {
      fields = in.retainedSlice(fieldsStart, emptyLine - fieldsStart);
    } else {
      fields = in.alloc().buffer(emptyLine - fieldsStart + 16);
      for (int from = fieldsStart; from < emptyLine; ) {
        int l = in.indexOf(from, emptyLine, (byte) '\n');
        int le = lineEnd(in, from, l);
        int colon = in.indexOf(from, le, (byte) ':');
        int k = kind(in, from, colon - from);
        boolean stays = staysOnHop(k) || connection != null && connection.named != null && k == OTHER
            && connection.named.contains(in.toString(from, colon - from, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT));
        if (!stays) {
          fields.writeBytes(in, from, le - from).writeByte('\r').writeByte('\n');
        }
        from = l + 1;
      }
    }
    String method = method(in, start, sp1);
    String target = in.toString(sp1 + 1, sp2 - sp1 - 1, StandardCharsets.ISO_8859_1);
    in.readerIndex(end);
    webSocket = upgradeWebSocket;
    out.add(new Head(method, target, http10, keepAlive(connection, http10), framing, host, expect, upgradeWebSocket, forwardedFor,
        sandboxId, sandboxPort, e2bSandboxId, e2bSandboxPort, fields));
    body(framing, contentLength, out);
  }

  private static final String[] METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

  /** The method's name; the common ones without a new String. */
  private static String method(ByteBuf in, int from, int to) {
    for (String m : METHODS) {
      if (m.length() == to - from && startsWith(in, from, m)) {
        return m;
      }
    }
    return in.toString(from, to - from, StandardCharsets.ISO_8859_1);
  }
}
