package sh.navix.agentbox.api.crd;

/** Annotation keys on sandbox pods, pools and templates (wire-compatible with agents.navix.sh/v1alpha1). */
public final class Annotations {
  private Annotations() {}

  // --- sandbox pods ---
  public static final String SANDBOX_ID = "agentbox.navix.sh/sandbox-id";
  /** RFC3339 time the pod was claimed. */
  public static final String CLAIMED_AT = "agentbox.navix.sh/claimed-at";
  /** RFC3339 time the sandbox reached Running. */
  public static final String STARTED_AT = "agentbox.navix.sh/started-at";
  /** Idle timeout in whole seconds, e.g. "600"; written at claim time when set. */
  public static final String IDLE_TIMEOUT = "agentbox.navix.sh/idle-timeout";
  /** Startup timeout in whole seconds, e.g. "120"; wins over the pool default. */
  public static final String STARTUP_TIMEOUT = "agentbox.navix.sh/startup-timeout";
  /** RFC3339 time of the last request routed to the sandbox; written asynchronously by the activity tracker. */
  public static final String LAST_ACTIVE = "agentbox.navix.sh/last-active";
  /** JSON map of caller metadata. */
  public static final String SANDBOX_METADATA = "agentbox.navix.sh/sandbox-metadata";
  /** JSON list of the label keys the caller asked for (removed again on recycle). */
  public static final String MANAGED_LABEL_KEYS = "agentbox.navix.sh/managed-label-keys";
  /** JSON list of the annotation keys the caller asked for (removed again on recycle). */
  public static final String MANAGED_ANNOTATION_KEYS = "agentbox.navix.sh/managed-annotation-keys";
  /** Why the sandbox stopped: Completed, Released, Failed or Canceled. */
  public static final String STOP_REASON = "agentbox.navix.sh/stop-reason";
  public static final String TERMINATED_AT = "agentbox.navix.sh/terminated-at";
  /** Machine-readable failure cause, e.g. IdleTimeout, OOMKilled, Evicted. */
  public static final String FAILURE_REASON = "agentbox.navix.sh/failure-reason";
  public static final String FAILURE_MESSAGE = "agentbox.navix.sh/failure-message";
  /** Container exit code as a decimal string. */
  public static final String EXIT_CODE = "agentbox.navix.sh/exit-code";
  /** JSON map container name to image, captured at release time before the idle-image reset. */
  public static final String RUNNING_IMAGES = "agentbox.navix.sh/running-images";
  /** Runtime container id captured at release time, e.g. containerd://abc. */
  public static final String CONTAINER_ID = "agentbox.navix.sh/container-id";
  /** JSON list of PostStartHookAction, written at claim time. */
  public static final String POST_START_HOOKS = "agentbox.navix.sh/post-start-hooks";
  /** RFC3339 start of the scale-down protection window on an idle pod chosen for removal. */
  public static final String SCALE_DOWN_PROTECTED = "agentbox.navix.sh/scale-down-protected";
  /** JSON SandboxStatusDetail with diagnostics for Starting/Failed pods. */
  public static final String SANDBOX_STATUS_DETAIL = "agentbox.navix.sh/sandbox-status-detail";

  // --- templates and pools ---
  /** Markdown documentation of a template. */
  public static final String TEMPLATE_DOCS = "agentbox.navix.sh/docs";
  /** Legacy pool docs; ignored by the server. */
  @Deprecated
  public static final String TEMPLATE_POOL_DOCS = "agentbox.navix.sh/pool-docs";
  public static final String POOL_TEMPLATE_NAME = "agentbox.navix.sh/template-name";
  public static final String POOL_TEMPLATE_VERSION = "agentbox.navix.sh/template-version";
  /** JSON PoolTemplateOverrides re-applied on template sync. */
  public static final String POOL_OVERRIDES = "agentbox.navix.sh/overrides";
  /** RFC3339 UTC time of the last create request served for a pool (throttled mirror). */
  public static final String LAST_SANDBOX_CREATE_TIME = "agentbox.navix.sh/last-sandbox-create-time";
}
