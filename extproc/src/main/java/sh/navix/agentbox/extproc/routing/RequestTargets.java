package sh.navix.agentbox.extproc.routing;

import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

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

  private static final String PATH_PREFIX = "/sandboxes/";
  private static final String[][] HEADER_FORMS = {{HEADER_ID, HEADER_PORT}, {E2B_HEADER_ID, E2B_HEADER_PORT}};

  private final String domainSuffix;

  /** {@code domain}: the sandbox host domain, e.g. {@code sandbox.localhost}. */
  public RequestTargets(String domain) {
    this.domainSuffix = "." + domain.toLowerCase(Locale.ROOT);
  }

  /**
   * The target of a request, or empty when it names no sandbox. Throws
   * {@link IllegalArgumentException} for a header form with a malformed id or port. Scanned by
   * hand, not with regular expressions: it runs for every proxied request and ext_proc message.
   */
  public Optional<RequestTarget> parse(Function<String, String> header, String hostHeader, String pathAndQuery) {
    String path = pathAndQuery == null || pathAndQuery.isEmpty() ? "/" : pathAndQuery;
    for (String[] names : HEADER_FORMS) {
      String id = header.apply(names[0]);
      if (id != null && !id.isBlank()) {
        id = id.trim();
        if (!isId(id, 0, id.length())) {
          throw new IllegalArgumentException(names[0] + " '" + id + "' is not a sandbox id");
        }
        return Optional.of(new RequestTarget(id, port(header.apply(names[1]), names[1]), path, RequestTarget.Form.HEADERS));
      }
    }
    if (hostHeader != null) {
      Optional<RequestTarget> byHost = byHost(hostHeader, path);
      if (byHost.isPresent()) {
        return byHost;
      }
    }
    return byPath(path);
  }

  /** {@code [<port>-]<sandboxId>.<domain>[:<listener port>]}. */
  private Optional<RequestTarget> byHost(String hostHeader, String path) {
    String h = hostHeader.trim();
    int colon = h.lastIndexOf(':');
    int end = colon > 0 && h.indexOf(']') < colon ? colon : h.length();
    int label = end - domainSuffix.length();
    if (label <= 0 || !h.regionMatches(true, label, domainSuffix, 0, domainSuffix.length())) {
      return Optional.empty();
    }
    String name = h.substring(0, label).toLowerCase(Locale.ROOT);
    int dash = name.indexOf('-');
    if (dash < 0) {
      return isId(name, 0, name.length()) ? Optional.of(new RequestTarget(name, null, path, RequestTarget.Form.HOST)) : Optional.empty();
    }
    if (!isPort(name, 0, dash) || !isId(name, dash + 1, name.length())) {
      return Optional.empty();
    }
    return Optional.of(new RequestTarget(name.substring(dash + 1), port(name.substring(0, dash), "host port"), path, RequestTarget.Form.HOST));
  }

  /** {@code /sandboxes/<sandboxId>/<port>[/rest][?query]}: the prefix is stripped. */
  private static Optional<RequestTarget> byPath(String path) {
    if (!path.startsWith(PATH_PREFIX)) {
      return Optional.empty();
    }
    int idStart = PATH_PREFIX.length();
    int idEnd = path.indexOf('/', idStart);
    if (idEnd < 0 || !isId(path, idStart, idEnd)) {
      return Optional.empty();
    }
    int portEnd = idEnd + 1;
    while (portEnd < path.length() && path.charAt(portEnd) != '/' && path.charAt(portEnd) != '?') {
      portEnd++;
    }
    if (!isPort(path, idEnd + 1, portEnd)) {
      return Optional.empty();
    }
    String rest = portEnd == path.length() ? "/" : path.charAt(portEnd) == '?' ? "/" + path.substring(portEnd) : path.substring(portEnd);
    return Optional.of(new RequestTarget(path.substring(idStart, idEnd), port(path.substring(idEnd + 1, portEnd), "path port"), rest,
        RequestTarget.Form.PATH));
  }

  /** 1–63 lowercase letters and digits. */
  private static boolean isId(String s, int from, int to) {
    if (to - from < 1 || to - from > 63) {
      return false;
    }
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
        return false;
      }
    }
    return true;
  }

  /** 1–5 digits (the range is checked when parsed). */
  private static boolean isPort(String s, int from, int to) {
    if (to - from < 1 || to - from > 5) {
      return false;
    }
    for (int i = from; i < to; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
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
