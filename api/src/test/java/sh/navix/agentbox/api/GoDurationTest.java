package sh.navix.agentbox.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GoDurationTest {
  @ParameterizedTest
  @CsvSource({
    "600, PT10M",
    "90s, PT1M30S",
    "1m30s, PT1M30S",
    "1.5h, PT1H30M",
    "300ms, PT0.3S",
    "2h45m, PT2H45M",
    "1us, PT0.000001S",
    "0s, PT0S",
    "1.5ns, PT0.000000001S",
  })
  void parsesSecondsAndGoSyntax(String text, String iso) {
    assertThat(GoDuration.parse(text)).isEqualTo(Duration.parse(iso));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  ", "5 minutes", "-5s", "s", "1d", "1m30", "abc", "99999999999999999999h", "99999999999999999999"})
  void rejectsWhatKubernetesWouldReject(String text) {
    assertThatThrownBy(() -> GoDuration.parse(text)).isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @CsvSource({"PT1H, 1h0m0s", "PT1M30S, 1m30s", "PT0.3S, 300ms", "PT0S, 0s", "PT2.5S, 2.5s", "PT26H, 26h0m0s"})
  void formatsLikeGo(String iso, String go) {
    Duration d = Duration.parse(iso);
    assertThat(GoDuration.format(d)).isEqualTo(go);
    assertThat(GoDuration.parse(GoDuration.format(d))).isEqualTo(d);
  }
}
