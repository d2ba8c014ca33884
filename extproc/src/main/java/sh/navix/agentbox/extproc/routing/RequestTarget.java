package sh.navix.agentbox.extproc.routing;

/**
 * Which sandbox (and port) a request addresses, and the path to forward. {@code port} null means
 * the sandbox's first runtime port. {@code path} is the request path to send to the pod: the
 * original one, or with the {@code /sandboxes/<id>/<port>} prefix stripped for path routing.
 */
public record RequestTarget(String sandboxId, Integer port, String path, Form form) {

  /** How the request named its sandbox. */
  public enum Form {
    /** {@code x-sandbox-id}/{@code x-sandbox-port} (or E2B's {@code e2b-sandbox-*}). */
    HEADERS,
    /** Host {@code <port>-<sandboxId>.<domain>}. */
    HOST,
    /** Path {@code /sandboxes/<sandboxId>/<port>/...}. */
    PATH
  }
}
