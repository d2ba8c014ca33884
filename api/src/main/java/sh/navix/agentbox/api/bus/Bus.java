package sh.navix.agentbox.api.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;
import java.time.Duration;
import java.util.List;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.model.CreateSandboxInput;
import sh.navix.agentbox.api.model.Sandbox;

/**
 * Every event-bus conversation in the system: its address and its message type. Messages are
 * immutable records delivered in-process (the bus is local; several gateway replicas coordinate
 * through Kubernetes, not through the bus).
 */
public final class Bus {
  private Bus() {}

  /** Request/reply, API to scheduler: {@link ClaimRequest} → {@link ClaimReply} (a sandbox, or the error to answer). */
  public static final String CLAIM = "agentbox.claim";
  /**
   * Send, API to scheduler: {@link ClaimCancel}, the client of a create went away while its
   * request waited in the queue; it is dropped there and claims nothing.
   */
  public static final String CLAIM_CANCEL = "agentbox.claim.cancel";
  /**
   * Send, API to scheduler: {@link ClaimAnswered}, a create for this sandbox was answered with the
   * sandbox (an Idempotency-Key retry after a claim whose outcome was unknown), so the scheduler no
   * longer releases it as unconfirmed.
   */
  public static final String CLAIM_ANSWERED = "agentbox.claim.answered";
  /** Request/reply, API and timeouts to the lifecycle writer: {@link ReleaseRequest} → {@link Sandbox}. */
  public static final String RELEASE = "agentbox.release";
  /** Publish, cache to scheduler and reconcilers: {@link PodChanged}. */
  public static final String POD_CHANGED = "agentbox.pod.changed";
  /** Publish, cache to reconcilers: {@link PoolChanged}. */
  public static final String POOL_CHANGED = "agentbox.pool.changed";
  /** Publish, reconciler to API waiters and hook dispatcher: {@link SandboxRunning}. */
  public static final String SANDBOX_RUNNING = "agentbox.sandbox.running";
  /**
   * Publish, cache to the history follower: {@link SandboxEnded}, a pod stopped holding a sandbox
   * (its sandbox keys cleared, or the pod deleted).
   */
  public static final String SANDBOX_ENDED = "agentbox.sandbox.ended";

  /**
   * Ask for an idle pod of a pool for sandbox {@code sandboxId}; wait up to {@code waitBudget} in
   * the pool's FIFO queue. {@code retryable}: the client can resend the same request and reach
   * the same sandbox (it sent an Idempotency-Key).
   */
  public record ClaimRequest(String sandboxId, CreateSandboxInput input, Duration waitBudget, boolean retryable) {
    /** A request its client cannot retry into the same sandbox (no Idempotency-Key: a new id each time). */
    public ClaimRequest(String sandboxId, CreateSandboxInput input, Duration waitBudget) {
      this(sandboxId, input, waitBudget, false);
    }
  }

  /** Drop the queued claim for {@code sandboxId}: nobody is left to answer. */
  public record ClaimCancel(String sandboxId) {}

  /** A create for {@code sandboxId} got the sandbox as its answer. */
  public record ClaimAnswered(String sandboxId) {}

  /** The outcome of a claim: the sandbox (Starting), or the error the caller gets (with its detail). */
  public record ClaimReply(Sandbox sandbox, sh.navix.agentbox.api.model.ApiError error) {}

  /**
   * Release a sandbox; {@code reason} is the stop reason to record (e.g. Released), with the
   * machine-readable failure reason and the human-readable message when it failed.
   */
  public record ReleaseRequest(String namespace, String sandboxId, String reason, String failureReason, String failureMessage) {
    public ReleaseRequest(String namespace, String sandboxId, String reason, String failureReason) {
      this(namespace, sandboxId, reason, failureReason, null);
    }
  }

  /** A managed pod appeared, changed phase, or went away ({@code newPhase} null). */
  public record PodChanged(
      String namespace, String poolName, String podName, SandboxPhase oldPhase, SandboxPhase newPhase) {}

  /** A SandboxPool was added, changed or deleted ({@code deleted} true). */
  public record PoolChanged(String namespace, String name, boolean deleted) {}

  /** A sandbox reached Running. */
  public record SandboxRunning(Sandbox sandbox) {}

  /**
   * A pod stopped holding a sandbox; {@code lastHeld} is the pod as it was when it last held it
   * (the cache's own object: read it, never change it).
   */
  public record SandboxEnded(io.fabric8.kubernetes.api.model.Pod lastHeld) {}

  private static final List<Class<?>> MESSAGE_TYPES =
      List.of(ClaimRequest.class, ClaimCancel.class, ClaimAnswered.class, ClaimReply.class, ReleaseRequest.class, PodChanged.class,
          PoolChanged.class, SandboxRunning.class, SandboxEnded.class, Sandbox.class);

  /**
   * Registers pass-by-reference codecs for the message types, so they travel without
   * serialization. Call once per Vert.x instance, before any verticle uses the bus.
   */
  public static void registerCodecs(EventBus bus) {
    for (Class<?> type : MESSAGE_TYPES) {
      register(bus, type);
    }
  }

  private static <T> void register(EventBus bus, Class<T> type) {
    bus.registerDefaultCodec(type, new LocalCodec<>(type.getName()));
  }

  /** Hands the same immutable object to the consumer; refuses to cross a cluster boundary. */
  private static final class LocalCodec<T> implements MessageCodec<T, T> {
    private final String name;

    LocalCodec(String name) {
      this.name = "local:" + name;
    }

    @Override
    public void encodeToWire(Buffer buffer, T t) {
      throw new UnsupportedOperationException(name + " is delivered in-process only");
    }

    @Override
    public T decodeFromWire(int pos, Buffer buffer) {
      throw new UnsupportedOperationException(name + " is delivered in-process only");
    }

    @Override
    public T transform(T t) {
      return t;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  }
}
