package sh.navix.agentbox.api.crd;

/** Condition types on SandboxEnv status. */
public final class EnvConditions {
  private EnvConditions() {}

  /** All members are Active. */
  public static final String READY = "Ready";
  /** Every member pool references the same template name (and version, if pinned). */
  public static final String TEMPLATE_CONSISTENT = "TemplateConsistent";
  /** The autoscaler is configured, enabled and not stalled. */
  public static final String AUTOSCALING_ACTIVE = "AutoscalingActive";
}
