package sh.navix.agentbox.api.crd;

/** Label keys and values the gateway stamps on pods and pools (wire-compatible with agents.navix.sh/v1alpha1). */
public final class Labels {
  private Labels() {}

  public static final String SANDBOX_POOL = "agentbox.navix.sh/sandbox-pool";
  public static final String SANDBOX_PHASE = "agentbox.navix.sh/sandbox-phase";
  public static final String SANDBOX_ID = "agentbox.navix.sh/sandbox-id";
  public static final String MANAGED_BY = "agentbox.navix.sh/managed-by";
  /** Value of {@link #MANAGED_BY} on every pod a pool owns. */
  public static final String MANAGED_BY_SANDBOX_API_SERVER = "sandbox-api-server";

  public static final String TEAM = "scheduling.navix.sh/team";
  public static final String USER = "scheduling.navix.sh/user";

  /** Stamped on every member SandboxPool by the SandboxEnv reconciler; value is the Env's name. */
  public static final String ENV = "agentbox.navix.sh/env";
  /** Stamped on member SandboxPools with their scaling group. */
  public static final String SCALING_GROUP = "agentbox.navix.sh/scaling-group";

  /** Origin of a resource; {@link #SYNC_SOURCE_GLOBAL} means synced by the global key manager. */
  public static final String SYNC_SOURCE = "agentbox.io/sync-source";
  public static final String SYNC_SOURCE_GLOBAL = "global";
}
