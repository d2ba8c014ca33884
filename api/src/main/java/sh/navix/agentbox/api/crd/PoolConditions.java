package sh.navix.agentbox.api.crd;

/** Condition types and reasons on SandboxPool status. */
public final class PoolConditions {
  private PoolConditions() {}

  /** True when healthy idle pods can accept sandbox requests. */
  public static final String AVAILABLE = "Available";
  /** True while the pool scales up or down. */
  public static final String SCALING = "Scaling";
  /** True when unavailable idle pods or failed pods are present. */
  public static final String DEGRADED = "Degraded";

  public static final String REASON_IDLE_PODS_AVAILABLE = "IdlePodsAvailable";
  public static final String REASON_NO_IDLE_PODS_AVAILABLE = "NoIdlePodsAvailable";
  public static final String REASON_SCALING_UP = "ScalingUp";
  public static final String REASON_SCALING_DOWN = "ScalingDown";
  public static final String REASON_REPLICAS_READY = "ReplicasReady";
  public static final String REASON_ALL_PODS_HEALTHY = "AllPodsHealthy";
  public static final String REASON_UNHEALTHY_IDLE_PODS = "UnhealthyIdlePods";
  public static final String REASON_FAILED_PODS_PRESENT = "FailedPodsPresent";
  public static final String REASON_UNHEALTHY_AND_FAILED = "UnhealthyAndFailedPods";
}
