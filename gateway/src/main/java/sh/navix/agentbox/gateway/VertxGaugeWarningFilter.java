package sh.navix.agentbox.gateway;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Marker;

/**
 * Keeps one upstream warning out of the gateway's log: vertx-micrometer-metrics registers some of
 * its gauges again for each handler or connection that shares one ({@code vertx.eventbus.handlers}
 * at every start), on purpose, since all of them read one shared counter; Micrometer (since
 * 1.13.9) warns at the first such registration that it is ignored, which here loses nothing
 * (vert-x3/vertx-micrometer-metrics#259). An operator should not learn to ignore a WARN at every
 * start. Only that message, and only for meters named {@code vertx.*}: another meter registered
 * twice is left to Micrometer (which warns at the first such registration in a process, and logs
 * later ones at DEBUG). Installed by {@code logback.xml}.
 */
public final class VertxGaugeWarningFilter extends TurboFilter {
  static final String MICROMETER_REGISTRY = "io.micrometer.core.instrument.MeterRegistry";

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (level == Level.WARN && format != null && MICROMETER_REGISTRY.equals(logger.getName())
        && format.startsWith("This Gauge has been already registered") && format.contains("name='vertx.")) {
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }
}
