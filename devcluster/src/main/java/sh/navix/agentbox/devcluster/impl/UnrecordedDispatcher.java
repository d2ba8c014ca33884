package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.concurrent.TimeUnit;

/**
 * Forgets the requests the mock web server has recorded. It keeps every request it serves, body
 * and all, in a queue for a test to take, and nothing here takes them: without this a dev cluster
 * held every request it had ever served (some 11 MB a second under the claims bench), and the
 * ever larger heap made each garbage collection pause the API server for longer (20-70 ms a
 * second under load). The server queues a request before dispatching it, so each dispatch empties
 * the queue, its own request included.
 */
final class UnrecordedDispatcher extends DelegatingDispatcher {
  private final MockWebServer server;

  UnrecordedDispatcher(MockWebServer server, Dispatcher delegate) {
    super(delegate);
    this.server = server;
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    try {
      while (server.takeRequest(0, TimeUnit.NANOSECONDS) != null) {
        // dropped
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return delegate.dispatch(request);
  }
}
