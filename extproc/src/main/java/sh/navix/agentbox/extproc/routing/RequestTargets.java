package sh.navix.agentbox.extproc.routing;

import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the sandbox a request addresses. First match wins: the {@code x-sandbox-id} header (with
 * {@code x-sandbox-port}; E2B's {@code e2b-sandbox-id}/{@code e2b-sandbox-port} too), then the
 * Host {@code <port>-<sandboxId>.<domain>} or {@code <sandboxId>.<domain>}, then the path
 * {@code /sandboxes/<sandboxId>/<port>/...}. Pure: headers come in through a lookup function so
 * ext_proc and the built-in proxy share it.
 */
public final class RequestTargets {
  /** Headers the gateway owns: clients may not set them for the pod to see. */
  public static final String HEADER_ID = "x-sandbox-id";
  public static final String HEADER_PORT = "x-sandbox-port";
  public static final String E2B_HEADER_ID = "e2b-sandbox-id";
  public static final String E2B_HEADER_PORT = "e2b-sandbox-port";
  public static final String DESTINATION = "x-gateway-destination-endpoint";

  static final Pattern ID = Pattern.compile("[a-z0-9]{1,63}");
  static final Pattern PATH = Pattern.compile("^/sandboxes/([a-z0-9]{1,63})/(\\d{1,5})(/[^?]*)?(\\?.*)?$");

  private final String domainSuffix;
  private final Pattern host;

  /** {@code domain}: the sandbox host domain, e.g. {@code sandbox.localhost}. */
  public RequestTargets(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    this.domainSuffix = "." + d;
    this.host = Pattern.compile("^(?:(\\d{1,5})-)?([a-z0-9]{1,63})" + Pattern.quote(domainSuffix) + "$");
  }

  /**
   * The target of a request, or empty when it names no sandbox. Throws
   * {@link IllegalArgumentException} for a header form with a malformed id or port.
   */
  public Optional<RequestTarget> parse(Function<String, String> header, String hostHeader, String pathAndQuery) {
    String path = pathAndQuery == null || pathAndQuery.isEmpty() ? "/" : pathAndQuery;
    for (String[] names : new String[][] {{HEADER_ID, HEADER_PORT}, {E2B_HEADER_ID, E2B_HEADER_PORT}}) {
      String id = header.apply(names[0]);
      if (id != null && !id.isBlank()) {
        id = id.trim();
        if (!ID.matcher(id).matches()) {
          throw new IllegalArgumentException(names[0] + " '" + id + "' is not a sandbox id");
        }
        return Optional.of(new RequestTarget(id, port(header.apply(names[1]), names[1]), path, RequestTarget.Form.HEADERS));
      }
    }
    if (hostHeader != null) {
      String h = hostHeader.toLowerCase(Locale.ROOT).trim();
      int colon = h.lastIndexOf(':');
      if (colon > 0 && h.indexOf(']') < colon) {
        h = h.substring(0, colon);
      }
      Matcher m = host.matcher(h);
      if (m.matches()) {
        return Optional.of(new RequestTarget(m.group(2), m.group(1) == null ? null : port(m.group(1), "host port"), path,
            RequestTarget.Form.HOST));
      }
    }
    Matcher m = PATH.matcher(path);
    if (m.matches()) {
      String rest = (m.group(3) == null ? "/" : m.group(3)) + (m.group(4) == null ? "" : m.group(4));
      return Optional.of(new RequestTarget(m.group(1), port(m.group(2), "path port"), rest, RequestTarget.Form.PATH));
    }
    return Optional.empty();
  }

  private static Integer port(String v, String what) {
    if (v == null || v.isBlank()) {
      return null;
    }
    try {
      int p = Integer.parseInt(v.trim());
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException(what + " " + v + " is out of range");
      }
      return p;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " '" + v + "' is not a port number");
    }
  }
}
