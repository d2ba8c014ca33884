package sh.navix.agentbox.api.bus;

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
 * An event-bus consumer for notifications (pod and pool events, a sandbox marked running), for a
 * verticle that stops while the cluster goes on changing: a leader verticle when its replica stops
 * leading, any of them when the gateway shuts down. The messages still on their way to a consumer
 * when it is unregistered are dropped by Vert.x, each with a WARN "Discarding message since the
 * consumer is not registered": a hundred or more under load, for what is expected and harmless
 * (whoever takes over reads the cache afresh). Here each goes to the owner's {@code droppedOnStop}
 * handler instead, which says what it means for that message, if anything. Unregister it through
 * {@link #unregister()} (a verticle's stop), not by leaving it to the undeploy. A message dropped
 * while the consumer is still running (its buffer full) is still a WARN.
 */
public final class BusConsumer<T> {
  private static final Logger LOG = LoggerFactory.getLogger(BusConsumer.class);

  private final MessageConsumer<T> consumer;
  private volatile boolean stopping;

  private BusConsumer(Vertx vertx, MessageConsumerOptions options, Handler<Message<T>> handler, Handler<Message<T>> droppedOnStop) {
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

  /** Registers a consumer on {@code address}, on the calling context (a verticle's start). */
  public static <T> BusConsumer<T> on(Vertx vertx, String address, Handler<Message<T>> handler, Handler<Message<T>> droppedOnStop) {
    return on(vertx, new MessageConsumerOptions().setAddress(address), handler, droppedOnStop);
  }

  public static <T> BusConsumer<T> on(Vertx vertx, MessageConsumerOptions options, Handler<Message<T>> handler, Handler<Message<T>> droppedOnStop) {
    return new BusConsumer<>(vertx, options, handler, droppedOnStop);
  }

  /** Completes once the registration has reached the event bus. */
  public Future<Void> completion() {
    return consumer.completion();
  }

  /** Unregisters; messages still on their way go to {@code droppedOnStop}. */
  public Future<Void> unregister() {
    stopping = true;
    return consumer.unregister();
  }

  /** The Vert.x consumer (tests pause it). */
  public MessageConsumer<T> consumer() {
    return consumer;
  }
}
