package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.vertx.core.json.JsonObject;

/**
 * Delete preconditions, which fabric8's mock API server ignores: a DELETE whose DeleteOptions
 * carry {@code preconditions.resourceVersion} or {@code preconditions.uid} that no longer match
 * the stored object is refused with 409 Conflict, as a real API server does, and deletes nothing.
 * The mock serves one request at a time, so the check and the delete are one step.
 */
final class DeletePreconditionDispatcher extends DelegatingDispatcher {
  DeletePreconditionDispatcher(Dispatcher delegate) {
    super(delegate);
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    if (request.method() == HttpMethod.DELETE && request.getBody() != null && request.getBody().size() > 0) {
      MockResponse refused = refusal(request);
      if (refused != null) {
        return refused;
      }
    }
    return delegate.dispatch(request);
  }

  /** The 409 for a precondition that fails, else null (no precondition, or no object: the delete answers as it would). */
  private MockResponse refusal(RecordedRequest request) {
    JsonObject pre = object(request.getBody()).getJsonObject("preconditions", new JsonObject());
    String wantVersion = pre.getString("resourceVersion");
    String wantUid = pre.getString("uid");
    if (wantVersion == null && wantUid == null) {
      return null;
    }
    String objectPath = pathOf(request);
    MockResponse current = get(request, objectPath);
    if (current == null || current.code() != 200 || current.getBody() == null) {
      return null;
    }
    JsonObject meta = object(current.getBody()).getJsonObject("metadata", new JsonObject());
    String version = meta.getString("resourceVersion");
    String uid = meta.getString("uid");
    String kind = objectPath.substring(objectPath.lastIndexOf('/', objectPath.lastIndexOf('/') - 1) + 1, objectPath.lastIndexOf('/'));
    String name = objectPath.substring(objectPath.lastIndexOf('/') + 1);
    String message = null;
    if (wantUid != null && !wantUid.equals(uid)) {
      message = "Precondition failed: UID in precondition: " + wantUid + ", UID in object meta: " + uid;
    } else if (wantVersion != null && !wantVersion.equals(version)) {
      message = "Operation cannot be fulfilled on " + kind + " \"" + name + "\": the ResourceVersion in the precondition ("
          + wantVersion + ") does not match the ResourceVersion in record (" + version + "). The object might have been modified";
    }
    if (message == null) {
      return null;
    }
    return failure(409, "Conflict", message, new JsonObject().put("name", name).put("kind", kind));
  }
}
