package sh.navix.agentbox.api.crd;

/** Which image a newly created pool pod starts with. */
public enum PodCreationImagePolicy {
  /** Keep the template container image (enables the same-image fast path). */
  PoolDefaultImage,
  /** Replace the first container image with spec.idleImage so pods enter Idle faster. */
  IdleImage
}
