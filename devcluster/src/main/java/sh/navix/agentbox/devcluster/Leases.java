package sh.navix.agentbox.devcluster;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.time.ZonedDateTime;

/** For tests and benchmarks: taking a leader-election Lease away from whoever holds it. */
public final class Leases {
  private Leases() {}

  /**
   * Makes {@code holder} the holder of an existing Lease for {@code duration}, as another replica
   * winning the election would. A compare-and-swap write, retried when the current holder's
   * renewal got in between.
   */
  public static void takeOver(KubernetesClient client, String namespace, String name, String holder, Duration duration) {
    Await.until("Lease " + namespace + "/" + name + " taken over by " + holder, Duration.ofSeconds(30), Duration.ofMillis(50), () -> {
      try {
        client.resources(Lease.class).inNamespace(namespace).withName(name).edit(l -> {
          l.getSpec().setHolderIdentity(holder);
          l.getSpec().setLeaseDurationSeconds((int) duration.toSeconds());
          l.getSpec().setAcquireTime(ZonedDateTime.now());
          l.getSpec().setRenewTime(ZonedDateTime.now());
          return l;
        });
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          return null;
        }
        throw e;
      }
    });
  }
}
