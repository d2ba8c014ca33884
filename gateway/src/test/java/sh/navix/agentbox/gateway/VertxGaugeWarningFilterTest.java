package sh.navix.agentbox.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;

/** Only Vert.x's own shared gauges lose their re-registration warning. */
class VertxGaugeWarningFilterTest {
  final LoggerContext context = new LoggerContext();
  final VertxGaugeWarningFilter filter = new VertxGaugeWarningFilter();

  FilterReply decide(String logger, Level level, String message) {
    return filter.decide(null, context.getLogger(logger), level, message, null, null);
  }

  static String reRegistered(String meter) {
    return "This Gauge has been already registered (MeterId{name='" + meter + "', tags=[]}), the registration will be ignored.";
  }

  @Test
  void vertxGaugesRegisteredAgainAreNotWarnedAbout() {
    assertThat(decide(VertxGaugeWarningFilter.MICROMETER_REGISTRY, Level.WARN, reRegistered("vertx.eventbus.handlers"))).isEqualTo(FilterReply.DENY);
  }

  @Test
  void everythingElseIsLeftAlone() {
    assertThat(decide(VertxGaugeWarningFilter.MICROMETER_REGISTRY, Level.WARN, reRegistered("agentbox_claim_queue_length"))).isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(VertxGaugeWarningFilter.MICROMETER_REGISTRY, Level.WARN, "some other warning about name='vertx.x'")).isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(VertxGaugeWarningFilter.MICROMETER_REGISTRY, Level.ERROR, reRegistered("vertx.eventbus.handlers"))).isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide("sh.navix.agentbox.gateway.Gateway", Level.WARN, reRegistered("vertx.eventbus.handlers"))).isEqualTo(FilterReply.NEUTRAL);
  }
}
