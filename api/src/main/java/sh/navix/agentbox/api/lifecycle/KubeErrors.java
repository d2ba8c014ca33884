package sh.navix.agentbox.api.lifecycle;

import io.fabric8.kubernetes.client.KubernetesClientException;

/** What a failed Kubernetes write means for the caller: lost a compare-and-swap race, or the object is gone. */
public final class KubeErrors {
  private KubeErrors() {}

  /** A 409: someone else changed the object first (stale resourceVersion). */
  public static boolean conflict(Throwable e) {
    return e instanceof KubernetesClientException k && k.getCode() == 409;
  }

  /** A 404: the object no longer exists. */
  public static boolean gone(Throwable e) {
    return e instanceof KubernetesClientException k && k.getCode() == 404;
  }
}
