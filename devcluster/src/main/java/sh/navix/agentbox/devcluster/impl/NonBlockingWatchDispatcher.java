package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.http.ByteString;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.lang.reflect.Field;
import java.util.concurrent.ExecutorService;

/**
 * Works around a deadlock in fabric8's mock API server (8.0.0): when a watch connection closes,
 * its listener waits, on the server's only event loop, for the watch's sender thread to finish;
 * if that thread is in the middle of sending an event it waits for the same event loop to complete
 * the write (up to 30 s), and every request to the server stalls meanwhile. Here, before the
 * listener's own close handling runs, the sender thread is stopped (its queued events dropped, a
 * send in progress interrupted: nobody is left to receive them), so that handling finishes at
 * once, still on the event loop and so still in order with the requests that send events.
 * Everything else goes to the mock's own dispatcher unchanged.
 */
final class NonBlockingWatchDispatcher extends DelegatingDispatcher {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NonBlockingWatchDispatcher.class);
  NonBlockingWatchDispatcher(Dispatcher delegate) {
    super(delegate);
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    MockResponse response = delegate.dispatch(request);
    WebSocketListener listener = response == null ? null : response.getWebSocketListener();
    return listener == null ? response : response.withWebSocketUpgrade(new Listener(listener));
  }


  private final class Listener extends WebSocketListener {
    private final WebSocketListener watch;

    Listener(WebSocketListener watch) {
      this.watch = watch;
    }

    @Override
    public void onBeforeAccept(WebSocket webSocket, Response response) {
      watch.onBeforeAccept(webSocket, response);
    }

    @Override
    public void onOpen(WebSocket webSocket, Response response) {
      watch.onOpen(webSocket, response);
    }

    @Override
    public void onMessage(WebSocket webSocket, String text) {
      watch.onMessage(webSocket, text);
    }

    @Override
    public void onMessage(WebSocket webSocket, ByteString bytes) {
      watch.onMessage(webSocket, bytes);
    }

    @Override
    public void onMessage(WebSocket webSocket, byte[] bytes) {
      watch.onMessage(webSocket, bytes);
    }

    @Override
    public void onPing(WebSocket webSocket, byte[] payload) {
      watch.onPing(webSocket, payload);
    }

    @Override
    public void onClosing(WebSocket webSocket, int code, String reason) {
      watch.onClosing(webSocket, code, reason);
    }

    @Override
    public void onClosed(WebSocket webSocket, int code, String reason) {
      stopSender(watch);
      watch.onClosed(webSocket, code, reason);
    }

    @Override
    public void onFailure(WebSocket webSocket, Throwable t, Response response) {
      stopSender(watch);
      watch.onFailure(webSocket, t, response);
    }
  }

  /** Stops the watch listener's sender thread (its private {@code executor}); without it, nothing changes. */
  private static void stopSender(WebSocketListener watch) {
    try {
      Field f = watch.getClass().getDeclaredField("executor");
      f.setAccessible(true);
      if (f.get(watch) instanceof ExecutorService sender) {
        sender.shutdownNow();
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("watch listener {} has no sender to stop: {}", watch.getClass().getName(), e.toString());
    }
  }
}
