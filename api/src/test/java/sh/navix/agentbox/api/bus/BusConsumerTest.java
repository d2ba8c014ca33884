package sh.navix.agentbox.api.bus;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumerOptions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** What a notification consumer does with the messages still on their way when it stops. */
class BusConsumerTest {
  final Vertx vertx = Vertx.vertx();
  final ListAppender<ILoggingEvent> log = new ListAppender<>();
  final List<Logger> watched = List.of(
      (Logger) LoggerFactory.getLogger("io.vertx.core.eventbus.impl.MessageConsumerImpl"),
      (Logger) LoggerFactory.getLogger(BusConsumer.class));

  @BeforeEach
  void watchLogs() {
    log.start();
    watched.forEach(l -> l.addAppender(log));
  }

  @AfterEach
  void close() throws Exception {
    watched.forEach(l -> l.detachAppender(log));
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  List<String> warnings() {
    return log.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).map(ILoggingEvent::getFormattedMessage).toList();
  }

  final Context context = vertx.getOrCreateContext();
  final List<Integer> handled = new CopyOnWriteArrayList<>();
  final List<Integer> dropped = new CopyOnWriteArrayList<>();

  /** A consumer registered on {@link #context}, which collects what it handles and what it drops on stopping. */
  BusConsumer<Integer> register(MessageConsumerOptions options) throws Exception {
    CompletableFuture<BusConsumer<Integer>> registered = new CompletableFuture<>();
    context.runOnContext(v -> {
      BusConsumer<Integer> c = BusConsumer.on(vertx, options, m -> handled.add(m.body()), m -> dropped.add(m.body()));
      c.completion().onSuccess(x -> registered.complete(c));
    });
    return registered.get(5, TimeUnit.SECONDS);
  }

  /** Returns once everything the context had queued so far has run. */
  void oneMoreTurn() throws Exception {
    CompletableFuture<Void> turn = new CompletableFuture<>();
    context.runOnContext(v -> turn.complete(null));
    turn.get(5, TimeUnit.SECONDS);
  }

  @Test
  void messagesStillOnTheirWayWhenItStopsGoToTheDroppedHandlerWithoutAWarningEach() throws Exception {
    BusConsumer<Integer> consumer = register(new MessageConsumerOptions().setAddress("test.events"));

    // A burst published and the consumer stopped in one go on its own context, as a leader
    // verticle stops in the middle of a burst of pod events: none of the burst has been handled yet.
    CompletableFuture<Void> stopped = new CompletableFuture<>();
    context.runOnContext(v -> {
      for (int i = 0; i < 50; i++) {
        vertx.eventBus().publish("test.events", i);
      }
      consumer.unregister().onComplete(x -> stopped.complete(null));
    });
    stopped.get(5, TimeUnit.SECONDS);
    // The drops are handed over on the context: one more turn of it and all have been.
    oneMoreTurn();

    assertThat(handled).isEmpty();
    assertThat(dropped).hasSize(50);
    assertThat(warnings()).isEmpty();
  }

  static final String FULL = "test.events: message dropped, the consumer's buffer of 2 is full";

  @Test
  void aMessageDroppedWhileItRunsBecauseItsBufferIsFullIsStillAWarning() throws Exception {
    BusConsumer<Integer> consumer = register(new MessageConsumerOptions().setAddress("test.events").setMaxBufferedMessages(2));

    CompletableFuture<Void> published = new CompletableFuture<>();
    context.runOnContext(v -> {
      consumer.consumer().pause();
      for (int i = 0; i < 5; i++) {
        vertx.eventBus().publish("test.events", i);
      }
      vertx.runOnContext(x -> published.complete(null));
    });
    published.get(5, TimeUnit.SECONDS);
    // Two are kept for when the consumer resumes; the other three are dropped, a warning each.
    oneMoreTurn();

    assertThat(dropped).isEmpty();
    assertThat(warnings()).containsExactly(FULL, FULL, FULL);
  }
}
