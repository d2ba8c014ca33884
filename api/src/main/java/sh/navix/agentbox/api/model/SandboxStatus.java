package sh.navix.agentbox.api.model;

/** Values of {@link Sandbox#status()}: live phases and terminal history states. */
public final class SandboxStatus {
  private SandboxStatus() {}

  public static final String STARTING = "Starting";
  public static final String RUNNING = "Running";
  public static final String STOPPING = "Stopping";
  public static final String COMPLETED = "Completed";
  public static final String FAILED = "Failed";
  public static final String CANCELED = "Canceled";
}
