package sh.navix.agentbox.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CRDs committed under deploy/crds are exactly what the build generates from the api classes. */
class CrdYamlUpToDateTest {
  static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
  static final Path COMMITTED = Path.of("../deploy/crds");
  static final List<String> FILES =
      List.of("sandboxtemplates.agents.navix.sh-v1.yml", "sandboxpools.agents.navix.sh-v1.yml", "sandboxenvs.agents.navix.sh-v1.yml");

  @Test
  void committedCrdsMatchGeneratedOnes() throws Exception {
    boolean update = Boolean.getBoolean("agentbox.updateCrds");
    for (String f : FILES) {
      String generated = Files.readString(GENERATED.resolve(f));
      if (update) {
        Files.writeString(COMMITTED.resolve(f), generated);
      }
      assertThat(Files.readString(COMMITTED.resolve(f)))
          .as("deploy/crds/%s is stale: run `mvn -pl api test -Dagentbox.updateCrds=true` and commit the result", f)
          .isEqualTo(generated);
    }
  }

  @Test
  void poolCrdHasStatusAndScaleSubresourcesAndPrinterColumns() throws Exception {
    String pool = Files.readString(COMMITTED.resolve("sandboxpools.agents.navix.sh-v1.yml"));
    assertThat(pool).contains("scope: \"Namespaced\"", "- \"sbp\"", "status: {}",
        "specReplicasPath: \".spec.replicas\"", "statusReplicasPath: \".status.runningReplicas\"",
        "labelSelectorPath: \".status.selector\"", "name: \"Unavail\"", "x-kubernetes-preserve-unknown-fields: true");
    assertThat(Files.readString(COMMITTED.resolve("sandboxtemplates.agents.navix.sh-v1.yml"))).contains("scope: \"Cluster\"");
  }
}
