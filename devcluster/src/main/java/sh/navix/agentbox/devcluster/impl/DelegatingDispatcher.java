package sh.navix.agentbox.devcluster.impl;

import io.fabric8.mockwebserver.http.Dispatcher;

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
}
