package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The dev runtime's endpoints: health, state, WebSocket echo and the catch-all echo. */
class DevRuntimeTest extends DevClusterTestBase {
  static String base;

  @BeforeAll
  static void pod() {
    createPod("runtime", "example/app:1", List.of());
    Pod p = awaitReady("runtime", "example/app:1");
    base = p.getStatus().getPodIP() + ":8080";
  }

  @Test
  void stateIsStoredPerKey() throws Exception {
    assertThat(http("GET", "http://" + base + "/state/missing", null).statusCode()).isEqualTo(404);
    assertThat(http("PUT", "http://" + base + "/state/a", "one").statusCode()).isEqualTo(204);
    assertThat(http("GET", "http://" + base + "/state/a", null).body()).isEqualTo("one");
  }

  @Test
  void anyOtherRequestIsEchoed() throws Exception {
    var r = http("POST", "http://" + base + "/some/path?x=1&y=2", "ignored");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonObject echo = new JsonObject(r.body());
    assertThat(echo.getString("method")).isEqualTo("POST");
    assertThat(echo.getString("path")).isEqualTo("/some/path");
    assertThat(echo.getString("query")).isEqualTo("x=1&y=2");
    assertThat(echo.getJsonObject("headers").getString("host")).isEqualTo(base);
  }

  @Test
  void webSocketEchoesTextAndBinaryFrames() throws Exception {
    CompletableFuture<String> text = new CompletableFuture<>();
    CompletableFuture<ByteBuffer> binary = new CompletableFuture<>();
    WebSocket ws = HTTP.newWebSocketBuilder().buildAsync(URI.create("ws://" + base + "/ws/echo"), new WebSocket.Listener() {
      @Override
      public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
        text.complete(data.toString());
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
        ByteBuffer copy = ByteBuffer.allocate(data.remaining()).put(data).flip();
        binary.complete(copy);
        w.request(1);
        return null;
      }
    }).get(5, TimeUnit.SECONDS);
    ws.sendText("ping", true).get(5, TimeUnit.SECONDS);
    assertThat(text.get(5, TimeUnit.SECONDS)).isEqualTo("ping");
    ws.sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}), true).get(5, TimeUnit.SECONDS);
    assertThat(binary.get(5, TimeUnit.SECONDS)).isEqualTo(ByteBuffer.wrap(new byte[] {1, 2, 3}));
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
  }
}
