package sh.navix.agentbox.api;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as Kubernetes writes them ({@code metav1.Duration}, Go's {@code time.Duration}
 * syntax: "90s", "1m30s", "1.5h", "300ms"), plus plain whole seconds ("600").
 */
public final class GoDuration {
  private GoDuration() {}

  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");
  private static final Pattern SECONDS = Pattern.compile("\\d+");

  /** Parses {@code text}; throws IllegalArgumentException saying what is accepted. */
  public static Duration parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty duration");
    }
    String s = text.trim();
    if (SECONDS.matcher(s).matches()) {
      try {
        return Duration.ofSeconds(Long.parseLong(s));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("duration '" + text + "' is too long");
      }
    }
    if (s.startsWith("-")) {
      throw new IllegalArgumentException("negative duration '" + text + "'");
    }
    if (s.startsWith("+")) {
      s = s.substring(1);
    }
    Matcher m = PART.matcher(s);
    int pos = 0;
    BigDecimal nanos = BigDecimal.ZERO;
    while (pos < s.length()) {
      if (!m.find(pos) || m.start() != pos) {
        throw new IllegalArgumentException(
            "bad duration '" + text + "': use whole seconds or Go syntax such as 90s, 5m, 1h30m, 300ms");
      }
      nanos = nanos.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unitNanos(m.group(2)))));
      pos = m.end();
    }
    // Go truncates a fraction of a nanosecond ("1.5ns" is 1ns) and refuses what overflows int64.
    BigDecimal whole = nanos.setScale(0, java.math.RoundingMode.DOWN);
    if (whole.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      throw new IllegalArgumentException("duration '" + text + "' is too long");
    }
    return Duration.ofNanos(whole.longValue());
  }

  private static long unitNanos(String unit) {
    return switch (unit) {
      case "ns" -> 1L;
      case "us", "µs" -> 1_000L;
      case "ms" -> 1_000_000L;
      case "s" -> 1_000_000_000L;
      case "m" -> 60_000_000_000L;
      case "h" -> 3_600_000_000_000L;
      default -> throw new IllegalArgumentException(unit);
    };
  }

  /**
   * A duration from configuration or an annotation that may be absent or hand-edited: empty when
   * blank, malformed or zero ("none"), never an exception.
   */
  public static java.util.Optional<Duration> parseLenient(String text) {
    if (text == null || text.isBlank()) {
      return java.util.Optional.empty();
    }
    try {
      Duration d = parse(text);
      return d.isZero() ? java.util.Optional.empty() : java.util.Optional.of(d);
    } catch (IllegalArgumentException | ArithmeticException e) {
      return java.util.Optional.empty();
    }
  }

  /** Formats like Go's {@code Duration.String()}: "1h0m0s", "1m30s", "300ms", "0s". */
  public static String format(Duration d) {
    if (d.isNegative()) {
      return "-" + format(d.negated());
    }
    long nanos = d.toNanos();
    if (nanos == 0) {
      return "0s";
    }
    if (nanos < 1_000_000_000L) {
      if (nanos % 1_000_000L == 0) {
        return nanos / 1_000_000L + "ms";
      }
      if (nanos % 1_000L == 0) {
        return nanos / 1_000L + "µs";
      }
      return nanos + "ns";
    }
    long h = nanos / 3_600_000_000_000L;
    long m = (nanos / 60_000_000_000L) % 60;
    BigDecimal sec = BigDecimal.valueOf(nanos % 60_000_000_000L, 9).stripTrailingZeros();
    String secText = sec.signum() == 0 ? "0" : sec.toPlainString();
    StringBuilder b = new StringBuilder();
    if (h > 0) {
      b.append(h).append('h');
    }
    if (h > 0 || m > 0) {
      b.append(m).append('m');
    }
    return b.append(secText).append('s').toString();
  }
}
