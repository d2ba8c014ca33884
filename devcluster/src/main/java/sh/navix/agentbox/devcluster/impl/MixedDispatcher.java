package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.internal.MockDispatcher;
import io.fabric8.mockwebserver.internal.SimpleRequest;
import java.util.Map;
import java.util.Queue;

/**
 * The mock server's expectations first (the server registers {@code /version} there), then the
 * object store: what fabric8's {@code KubernetesMixedDispatcher} does, over the
 * {@link IndexedCrudDispatcher} (fabric8's makes its own CRUD dispatcher and offers no way to
 * pass another).
 */
final class MixedDispatcher extends Dispatcher {
  private final Map<ServerRequest, Queue<ServerResponse>> responses;
  private final MockDispatcher expectations;
  private final IndexedCrudDispatcher objects;

  MixedDispatcher(Map<ServerRequest, Queue<ServerResponse>> responses, int watchHistory) {
    this.responses = responses;
    this.objects = new IndexedCrudDispatcher(watchHistory);
    this.expectations = new MockDispatcher(responses);
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    Queue<ServerResponse> expected = responses.get(new SimpleRequest(HttpMethod.valueOf(request.getMethod()), request.getPath()));
    return expected != null && !expected.isEmpty() ? expectations.dispatch(request) : objects.dispatch(request);
  }

  @Override
  public void shutdown() {
    expectations.shutdown();
    objects.shutdown();
  }

  @Override
  public void releaseResources() {
    expectations.releaseResources();
    objects.releaseResources();
  }
}
