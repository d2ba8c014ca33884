package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.http.ByteString;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Works around a deadlock in fabric8's mock API server (8.0.0): when a watch connection closes,
 * its listener waits, on the server's only event loop, for the watch's sender thread to finish;
 * if that thread is in the middle of sending an event it waits for the same event loop to complete
 * the write (up to 30 s), and every request to the server stalls meanwhile. Here the close and
 * failure callbacks of every watch run on a thread of their own, so the event loop stays free to
 * finish the write. Everything else goes to the mock's own dispatcher unchanged.
 */
final class NonBlockingWatchDispatcher extends Dispatcher {
  private final Dispatcher delegate;
  private final ExecutorService closer = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "dev-cluster-watch-close");
    t.setDaemon(true);
    return t;
  });

  NonBlockingWatchDispatcher(Dispatcher delegate) {
    this.delegate = delegate;
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    MockResponse response = delegate.dispatch(request);
    WebSocketListener listener = response == null ? null : response.getWebSocketListener();
    return listener == null ? response : response.withWebSocketUpgrade(new Listener(listener));
  }

  @Override
  public void shutdown() {
    delegate.shutdown();
    closer.shutdown();
  }

  @Override
  public void releaseResources() {
    delegate.releaseResources();
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
      closer.execute(() -> watch.onClosed(webSocket, code, reason));
    }

    @Override
    public void onFailure(WebSocket webSocket, Throwable t, Response response) {
      closer.execute(() -> watch.onFailure(webSocket, t, response));
    }
  }
}
