package sh.navix.agentbox.extproc.routing;

/**
 * Where a request goes: a pod endpoint and the path to send, or an error to answer (status,
 * message, and for 503 a Retry-After in seconds). One decision, two transports: ext_proc turns it
 * into a header mutation or an immediate response, the built-in proxy into an origin or a reply.
 */
public sealed interface RouteDecision {

  /** Route to {@code host:port} with {@code path}; the request belongs to {@code sandboxId}. */
  record Route(String sandboxId, String host, int port, String path) implements RouteDecision {
    public String endpoint() {
      return host + ":" + port;
    }
  }

  /** Answer with {@code status} and a JSON error body. */
  record Reject(int status, String message, Integer retryAfterSeconds) implements RouteDecision {
    public String body() {
      return "{\"error\":" + sh.navix.agentbox.api.Json.encode(message) + "}";
    }
  }
}
