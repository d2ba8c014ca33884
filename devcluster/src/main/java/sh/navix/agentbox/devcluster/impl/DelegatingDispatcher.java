package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;

/** A dispatcher in front of the mock's own: what it does not change goes to {@code delegate}. */
abstract class DelegatingDispatcher extends Dispatcher {
  protected final Dispatcher delegate;

  DelegatingDispatcher(Dispatcher delegate) {
    this.delegate = delegate;
  }

  @Override
  public void shutdown() {
    delegate.shutdown();
  }

  @Override
  public void releaseResources() {
    delegate.releaseResources();
  }

  /** The request's path without its query. */
  protected static String pathOf(RecordedRequest request) {
    String path = request.getPath();
    int query = path.indexOf('?');
    return query < 0 ? path : path.substring(0, query);
  }

  /** The request's query string, empty when it has none. */
  protected static String queryOf(RecordedRequest request) {
    String path = request.getPath();
    int query = path.indexOf('?');
    return query < 0 ? "" : path.substring(query + 1);
  }

  /** What the mock's own dispatcher answers to a GET of {@code objectPath}, with the headers of {@code request}. */
  protected MockResponse get(RecordedRequest request, String objectPath) {
    return delegate.dispatch(new RecordedRequest(request.getHttpVersion(), HttpMethod.GET, objectPath, request.getHeaders(), new Buffer()));
  }

  /**
   * A refusal as the API server words it: a {@code Status} object (status Failure) with
   * {@code code}, {@code reason} and {@code message}, and {@code details} unless null.
   */
  protected static MockResponse failure(int code, String reason, String message, JsonObject details) {
    JsonObject body = new JsonObject().put("kind", "Status").put("apiVersion", "v1").put("metadata", new JsonObject())
        .put("status", "Failure").put("message", message).put("reason", reason).put("code", code);
    if (details != null) {
      body.put("details", details);
    }
    return new MockResponse().setResponseCode(code).addHeader("Content-Type: application/json").setBody(body.encode());
  }

  /** {@code body} as a JSON object; an empty object when it is absent or not one. */
  protected static JsonObject object(Buffer body) {
    if (body == null || body.size() == 0) {
      return new JsonObject();
    }
    try {
      return new JsonObject(new String(body.getBytes(), StandardCharsets.UTF_8));
    } catch (DecodeException | ClassCastException e) {
      return new JsonObject();
    }
  }
}
