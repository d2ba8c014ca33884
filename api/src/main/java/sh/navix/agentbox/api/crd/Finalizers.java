package sh.navix.agentbox.api.crd;

/** Finalizers the gateway owns. */
public final class Finalizers {
  private Finalizers() {}

  /**
   * On every pool-managed pod for its whole life: it guarantees a deletion window in which the
   * sandbox history record is written, even when the pod is deleted from outside.
   */
  public static final String SANDBOX_PROTECTION = "agentbox.navix.sh/sandbox-protection";
}
