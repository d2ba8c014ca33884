package sh.navix.agentbox.devcluster.impl;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The dev cluster's API server keeps none of the requests it served (the mock web server would keep them all). */
class UnrecordedDispatcherTest {
  @Test
  void servedRequestsAreNotKept() throws Exception {
    MockWebServer server = new MockWebServer();
    server.setDispatcher(new UnrecordedDispatcher(server, new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        return new MockResponse().setResponseCode(200).setBody("ok");
      }
    }));
    server.start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      String body = "x".repeat(10_000);
      for (int i = 0; i < 100; i++) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getPort() + "/api/v1/pods/" + i))
            .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
      }
      assertThat(server.getRequestCount()).isEqualTo(100);
      assertThat(server.takeRequest(0, TimeUnit.NANOSECONDS)).as("a request still held").isNull();
    } finally {
      server.shutdown();
    }
  }
}
