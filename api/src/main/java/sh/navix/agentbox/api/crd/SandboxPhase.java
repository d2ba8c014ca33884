package sh.navix.agentbox.api.crd;

import java.util.Optional;

/** Lifecycle phase of a pool pod, stored in the {@link Labels#SANDBOX_PHASE} label. */
public enum SandboxPhase {
  IDLE("idle"),
  /** Idle to Running: the requested image is being pulled and started. */
  STARTING("starting"),
  RUNNING("running"),
  /** Running to Idle: the idle image is being restored. */
  STOPPING("stopping"),
  FAILED("failed");

  private final String wire;

  SandboxPhase(String wire) {
    this.wire = wire;
  }

  /** The label value. */
  public String wire() {
    return wire;
  }

  /** The phase for a label value, empty when the value is missing or unknown. */
  public static Optional<SandboxPhase> fromWire(String value) {
    return value == null ? Optional.empty() : BY_WIRE.getOrDefault(value, Optional.empty());
  }

  // Read on every routed request: one lookup, no copy of values(), no allocation.
  private static final java.util.Map<String, Optional<SandboxPhase>> BY_WIRE =
      java.util.Arrays.stream(values()).collect(java.util.stream.Collectors.toUnmodifiableMap(p -> p.wire, Optional::of));

  @Override
  public String toString() {
    return wire;
  }
}
