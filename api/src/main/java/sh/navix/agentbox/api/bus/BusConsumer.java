package sh.navix.agentbox.reconciler;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.MessageConsumerOptions;
import io.vertx.core.eventbus.impl.MessageConsumerImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An event-bus consumer of a leader verticle, which stops whenever its replica stops leading. The
 * messages still on their way to it then (a burst of pod events, a sandbox just marked running) are
 * dropped by Vert.x, each with a WARN "Discarding message since the consumer is not registered": a
 * hundred or more at every change of leader under load, for what is expected and harmless (the next
 * leader reads the cache afresh). Here each such message goes to the verticle's own {@code
 * droppedOnStop} handler instead, which says what it means for that message, if anything. A message
 * dropped while the consumer is still running (its buffer full) is still a WARN.
 */
final class LeaderConsumer<T> {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderConsumer.class);

  private final MessageConsumer<T> consumer;
  private volatile boolean stopping;

  private LeaderConsumer(Vertx vertx, MessageConsumerOptions options, Handler<Message<T>> handler, Handler<Message<T>> droppedOnStop) {
    this.consumer = vertx.eventBus().consumer(options);
    if (consumer instanceof MessageConsumerImpl<T> impl) {
      // Vert.x's own hook for dropped messages (not on the MessageConsumer interface). Set before
      // the handler, which registers the consumer.
      impl.discardHandler(m -> {
        if (stopping) {
          droppedOnStop.handle(m);
        } else {
          LOG.warn("{}: message dropped, the consumer's buffer of {} is full", consumer.address(), options.getMaxBufferedMessages());
        }
      });
    }
    consumer.handler(handler);
  }

  /** Registers a consumer on {@code address}; call from the verticle's start. */
  static <T> LeaderConsumer<T> on(Vertx vertx, String address, Handler<Message<T>> handler, Handler<Message<T>> droppedOnStop) {
    return on(vertx, new MessageConsumerOptions().setAddress(address), handler, droppedOnStop);
  }

  static <T> LeaderConsumer<T> on(Vertx vertx, MessageConsumerOptions options, Handler<Message<T>> handler, Handler<Message<T>> droppedOnStop) {
    return new LeaderConsumer<>(vertx, options, handler, droppedOnStop);
  }

  /** Completes once the registration has reached the event bus. */
  Future<Void> completion() {
    return consumer.completion();
  }

  /** Unregisters; messages still on their way go to {@code droppedOnStop}. */
  Future<Void> unregister() {
    stopping = true;
    return consumer.unregister();
  }

  /** The Vert.x consumer (tests pause it). */
  MessageConsumer<T> consumer() {
    return consumer;
  }
}
