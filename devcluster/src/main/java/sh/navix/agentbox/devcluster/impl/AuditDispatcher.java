package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import sh.navix.agentbox.devcluster.DevCluster.Access;

/**
 * Notes who asked for what, as Kubernetes' authorizer would see each request (its request
 * attributes: user, verb, API group, resource, subresource, namespace), before passing it on.
 * Keeps each distinct kind once, so its size does not grow with the number of requests or objects.
 */
final class AuditDispatcher extends DelegatingDispatcher {
  static final String ANONYMOUS = "system:anonymous";

  private final Set<Access> accesses = ConcurrentHashMap.newKeySet();

  AuditDispatcher(Dispatcher delegate) {
    super(delegate);
  }

  Set<Access> accesses() {
    return Set.copyOf(accesses);
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    accesses.add(access(user(request), request.getMethod(), pathOf(request), queryOf(request)));
    return delegate.dispatch(request);
  }

  /** The bearer token, which is the user's name on this API server. */
  static String user(RecordedRequest request) {
    String auth = request.getHeader("Authorization");
    if (auth == null) {
      auth = request.getHeader("authorization");
    }
    return auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : ANONYMOUS;
  }

  /**
   * The request attributes of one request, as the API server's request-info resolver makes them:
   * {@code /api/v1/...} is the core group, {@code /apis/<group>/<version>/...} a named one; then
   * {@code namespaces/<ns>/} when namespaced; then the resource, maybe a name, maybe a
   * subresource. The verb comes from the method: GET of one object is get, of a collection list,
   * either with {@code watch=true} watch; POST create; PUT update; PATCH patch; DELETE of one object
   * delete, of a collection deletecollection. Anything else is a non-resource request.
   */
  static Access access(String user, String method, String path, String query) {
    String[] parts = path.replaceAll("^/+|/+$", "").split("/");
    int i;
    String group;
    if (parts.length >= 3 && parts[0].equals("api")) {
      group = "";
      i = 2;
    } else if (parts.length >= 4 && parts[0].equals("apis")) {
      group = parts[1];
      i = 3;
    } else {
      return new Access(user, method.toLowerCase(java.util.Locale.ROOT), null, null, null, null, path);
    }
    String namespace = "";
    if (parts.length > i + 2 && parts[i].equals("namespaces")) {
      namespace = parts[i + 1];
      i += 2;
    }
    String resource = parts[i];
    String name = parts.length > i + 1 ? parts[i + 1] : null;
    String subresource = parts.length > i + 2 ? parts[i + 2] : "";
    boolean watch = query.matches("(^|.*&)watch=(true|1)(&.*|$)");
    String verb = switch (method.toUpperCase(java.util.Locale.ROOT)) {
      case "GET", "HEAD" -> watch ? "watch" : name == null ? "list" : "get";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> name == null ? "deletecollection" : "delete";
      default -> method.toLowerCase(java.util.Locale.ROOT);
    };
    return new Access(user, verb, group, resource, subresource, namespace, null);
  }
}
