package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecListener;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.bus.BusConsumer;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.PostStartHookAction;
import tools.jackson.core.type.TypeReference;

/**
 * Runs a sandbox's post-start hooks (the {@code post-start-hooks} annotation written at claim
 * time) once the leader has marked it running: in order, one at a time, each within
 * {@link ReconcilerOptions#hookTimeout}. An {@code httpPost} hook POSTs its JSON body to the
 * pod's IP on its port and path and succeeds on a 2xx answer; an {@code exec} hook runs
 * {@code sh -c command} in the pod's first container through the Kubernetes exec API and
 * succeeds on exit code 0. As with a failing postStart hook in Kubernetes, a failure ends the
 * sandbox: it is released as Failed with reason {@value #FAILURE_REASON} and a message naming the
 * hook and what went wrong; the hooks after it do not run. Hooks stop, without a failure, when the
 * sandbox is released meanwhile. Runs on the leader only: a replica that stops leading abandons
 * the hook in progress (the sandbox is not failed for it), and a leader that dies leaves the rest
 * unrun (hooks run at most once).
 */
final class PostStartHooks extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(PostStartHooks.class);
  static final String FAILURE_REASON = "PostStartHookFailed";
  /** Most output (or answer body) bytes quoted in a failure message. */
  static final int QUOTED_BYTES = 512;
  private static final TypeReference<List<PostStartHookAction>> HOOKS = new TypeReference<>() {};

  private final Lifecycle lifecycle;
  private final KubernetesClient client;
  private final MeterRegistry registry;
  private final Duration timeout;
  private final Set<Attempt> inFlight = new HashSet<>();
  private BusConsumer<Bus.SandboxRunning> consumer;
  private HttpClient http;
  /** Set when this replica stops leading: hooks in progress are abandoned, not failed. */
  private boolean stopped;

  PostStartHooks(Lifecycle lifecycle, KubernetesClient client, MeterRegistry registry, Duration timeout) {
    this.lifecycle = lifecycle;
    this.client = client;
    this.registry = registry;
    this.timeout = timeout;
  }

  @Override
  public Future<?> start() {
    http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));
    consumer = BusConsumer.on(vertx, Bus.SANDBOX_RUNNING, this::running, this::droppedOnStop);
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    // Ended here, whatever the stream or request does once cancelled (the timers go with the deployment).
    List.copyOf(inFlight).forEach(a -> a.abort(new HookFailure("abandoned")));
    return Future.all(consumer.unregister(), http.close());
  }

  /** Marked running as this replica stopped leading: its hooks are not run (at most once, see above). */
  private void droppedOnStop(Message<Bus.SandboxRunning> m) {
    if (!holder(m.body()).map(PostStartHooks::hooks).orElse(List.of()).isEmpty()) {
      LOG.warn("sandbox {}: post-start hooks not run: this replica stopped leading as the sandbox became running", m.body().sandbox().sandboxId());
    }
  }

  /** The pod the sandbox marked running lives on, if it still does. */
  private Optional<Pod> holder(Bus.SandboxRunning running) {
    var s = running.sandbox();
    return Pods.holder(lifecycle.cache().podsBySandboxId(s.sandboxId()))
        .filter(p -> s.podName().equals(Pods.name(p)) && s.namespace().equals(Pods.namespace(p)));
  }

  private void running(Message<Bus.SandboxRunning> m) {
    var s = m.body().sandbox();
    // Only on the pod the sandbox lives on: a failure releases the sandbox by id, on every holder.
    Optional<Pod> pod = holder(m.body());
    List<PostStartHookAction> hooks = pod.map(PostStartHooks::hooks).orElse(List.of());
    if (!hooks.isEmpty()) {
      LOG.info("sandbox {}: running {} post-start hook(s)", s.sandboxId(), hooks.size());
      run(pod.get(), s.sandboxId(), hooks, 0);
    }
  }

  /** The hooks a pod's claim asked for (the valid ones); none when the annotation is missing or unreadable. */
  static List<PostStartHookAction> hooks(Pod p) {
    String json = Pods.annotation(p, Annotations.POST_START_HOOKS);
    if (json == null || json.isBlank()) {
      return List.of();
    }
    try {
      List<PostStartHookAction> hooks = Json.mapper().readValue(json, HOOKS);
      List<PostStartHookAction> valid = hooks == null ? List.of() : hooks.stream().filter(h -> h != null && h.isValid()).toList();
      if (hooks != null && valid.size() != hooks.size()) {
        LOG.warn("pod {}/{}: {} of its post-start hooks set neither or both of exec and httpPost; skipped", Pods.namespace(p), Pods.name(p),
            hooks.size() - valid.size());
      }
      return valid;
    } catch (Exception e) {
      LOG.warn("pod {}/{}: unreadable {} annotation, no hooks run: {}", Pods.namespace(p), Pods.name(p), Annotations.POST_START_HOOKS,
          e.toString());
      return List.of();
    }
  }

  private void run(Pod p, String sandboxId, List<PostStartHookAction> hooks, int i) {
    if (stopped) {
      return;
    }
    if (i == hooks.size()) {
      LOG.info("sandbox {}: post-start hooks done", sandboxId);
      return;
    }
    if (!stillLive(p, sandboxId)) {
      LOG.info("sandbox {}: no longer running, its remaining {} post-start hook(s) not run", sandboxId, hooks.size() - i);
      return;
    }
    PostStartHookAction hook = hooks.get(i);
    String kind = hook.exec() != null ? "exec" : "httpPost";
    String what = "postStartHooks[" + i + "] (" + describe(hook) + ")";
    Attempt attempt = new Attempt();
    inFlight.add(attempt);
    within(attempt, hook.exec() != null ? exec(p, hook.exec().command(), attempt) : post(p, hook.httpPost(), attempt),
        hook.exec() != null ? "did not finish" : "no answer").onComplete(ar -> {
      inFlight.remove(attempt);
      registry.counter("agentbox_post_start_hooks_total", "kind", kind, "outcome",
          stopped ? "abandoned" : ar.succeeded() ? "succeeded" : "failed").increment();
      if (stopped) {
        LOG.info("sandbox {}: {} abandoned: this replica stopped leading", sandboxId, what);
        return;
      }
      if (ar.succeeded()) {
        run(p, sandboxId, hooks, i + 1);
      } else if (stillLive(p, sandboxId)) {
        String message = what + " failed: " + ar.cause().getMessage();
        LOG.warn("sandbox {}: {}; releasing it as Failed", sandboxId, message);
        vertx.eventBus().request(Bus.RELEASE, new Bus.ReleaseRequest(Pods.namespace(p), sandboxId, SandboxStopReason.Failed.name(),
                FAILURE_REASON, message))
            .onFailure(e -> LOG.warn("sandbox {}: release after its failed post-start hook failed: {}", sandboxId, e.toString()));
      }
    });
  }

  /** Whether the pod still holds the sandbox, live (the cache may still show it starting). */
  private boolean stillLive(Pod p, String sandboxId) {
    return lifecycle.cache().pod(Pods.namespace(p), Pods.name(p)).filter(now -> sandboxId.equals(Pods.sandboxId(now)) && Pods.live(now))
        .isPresent();
  }

  /** {@code work}, failed and cancelled when it takes longer than the hook timeout (everything included: connect, upgrade, answer). */
  private Future<Void> within(Attempt attempt, Supplier<Future<Void>> work, String late) {
    Promise<Void> result = attempt.result;
    long timer = vertx.setTimer(timeout.toMillis(),
        t -> attempt.abort(new HookFailure(late + " within " + timeout.toSeconds() + " s" + quote(attempt.output()))));
    Future<Void> started;
    try {
      started = work.get();
    } catch (RuntimeException e) { // a pod without what the hook needs: fails the hook, not the event loop
      started = Future.failedFuture(new HookFailure(e.toString()));
    }
    started.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        result.tryComplete();
      } else {
        result.tryFail(ar.cause());
      }
    });
    return result.future();
  }

  private static String describe(PostStartHookAction hook) {
    if (hook.exec() != null) {
      String c = String.valueOf(hook.exec().command());
      return "exec " + (c.length() > 60 ? c.substring(0, 60) + "…" : c);
    }
    return "httpPost :" + hook.httpPost().port() + path(hook.httpPost());
  }

  private static String path(PostStartHookAction.HttpPostHookAction h) {
    return h.path() == null || h.path().isEmpty() ? "/" : h.path().startsWith("/") ? h.path() : "/" + h.path();
  }

  /** POSTs the hook's body (JSON, {@code {}} when none) to the pod; fails unless the answer is 2xx. */
  private Supplier<Future<Void>> post(Pod p, PostStartHookAction.HttpPostHookAction h, Attempt attempt) {
    return () -> {
      String ip = p.getStatus() == null ? null : p.getStatus().getPodIP();
      if (ip == null || ip.isEmpty()) {
        return Future.failedFuture(new HookFailure("the pod has no IP"));
      }
      RequestOptions o = new RequestOptions().setMethod(HttpMethod.POST).setHost(ip).setPort(h.port()).setURI(path(h))
          .putHeader("content-type", "application/json");
      if (h.headers() != null) {
        h.headers().forEach(o::putHeader);
      }
      Buffer body = Buffer.buffer(Json.encode(h.body() == null ? Map.of() : h.body()));
      return http.request(o)
          .compose(req -> {
            attempt.onCancel(() -> req.reset());
            return req.send(body);
          })
          .compose(resp -> {
            // Only the start of the answer is kept, for the failure message.
            Promise<Void> read = Promise.promise();
            resp.handler(attempt::keep);
            resp.exceptionHandler(read::tryFail);
            resp.endHandler(v -> {
              if (resp.statusCode() / 100 == 2) {
                read.tryComplete();
              } else {
                read.tryFail(new HookFailure("answered " + resp.statusCode() + quote(attempt.output())));
              }
            });
            return read.future();
          })
          .recover(e -> Future.failedFuture(e instanceof HookFailure ? e
              : new HookFailure(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())));
    };
  }

  /** Runs {@code sh -c command} in the pod's first container; fails unless it exits 0. */
  private Supplier<Future<Void>> exec(Pod p, String command, Attempt attempt) {
    return () -> {
      String container = p.getSpec().getContainers().get(0).getName();
      String[] exitStatus = {null};
      ExecListener listener = new ExecListener() {
        @Override
        public void onExit(int code, Status status) {
          exitStatus[0] = status == null ? null : status.getMessage();
        }

        @Override
        public void onClose(int code, String reason) {
          // the exit code comes through the watch
        }
      };
      // Blocking: fabric8 reads the pod and waits for the stream's upgrade before it returns the
      // watch. Unordered: one sandbox's slow exec does not hold up another's.
      return vertx.<ExecWatch>executeBlocking(() -> client.pods().inNamespace(Pods.namespace(p)).withName(Pods.name(p))
              .inContainer(container).writingOutput(attempt.sink()).writingError(attempt.sink()).usingListener(listener)
              .exec("sh", "-c", command), false)
          .recover(e -> Future.failedFuture(new HookFailure("exec refused: " + apiError(e))))
          .compose(watch -> {
            attempt.onCancel(watch::close);
            return Future.fromCompletionStage(watch.exitCode(), context)
                .andThen(x -> watch.close())
                .recover(e -> Future.failedFuture(new HookFailure("exec failed: " + apiError(e))))
                .compose(code -> code != null && code == 0 ? Future.<Void>succeededFuture()
                    : Future.failedFuture(new HookFailure((code == null || code < 0
                        ? "exec failed" + (exitStatus[0] == null ? "" : ": " + exitStatus[0])
                        : "exited with code " + code) + quote(attempt.output()))));
          });
    };
  }

  /** What went wrong talking to the API server, without the request (its URL carries the command). */
  private static String apiError(Throwable e) {
    if (e instanceof KubernetesClientException k) {
      String status = k.getStatus() == null ? null : k.getStatus().getMessage();
      return k.getCode() > 0 ? "the API server answered " + k.getCode() + (status == null ? "" : ": " + status)
          : "the exec stream could not be opened";
    }
    return e.getClass().getSimpleName();
  }

  /** A hook failure whose message is what the user reads. */
  private static final class HookFailure extends RuntimeException {
    HookFailure(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * One hook in progress: how to cancel it (close its exec stream, reset its request), whether it
   * was, and the start of its output.
   */
  private static final class Attempt {
    /** The hook's outcome: completed by the work, the timeout, or this replica stepping down. */
    final Promise<Void> result = Promise.promise();
    private final Bounded output = new Bounded();
    private Runnable cancel;
    private boolean cancelled;

    /** Registers how to cancel; runs it at once when already cancelled (the timeout came first). */
    synchronized void onCancel(Runnable c) {
      if (cancelled) {
        c.run();
      } else {
        cancel = c;
      }
    }

    /** Ends the hook with {@code failure} and cancels what it still has open. */
    void abort(HookFailure failure) {
      result.tryFail(failure);
      cancel();
    }

    private synchronized void cancel() {
      cancelled = true;
      if (cancel != null) {
        cancel.run();
        cancel = null;
      }
    }

    OutputStream sink() {
      return output;
    }

    void keep(Buffer b) {
      output.write(b.getBytes(), 0, b.length());
    }

    byte[] output() {
      return output.bytes();
    }
  }

  private static String quote(byte[] b) {
    if (b.length == 0) {
      return "";
    }
    String s = new String(b, 0, Math.min(b.length, QUOTED_BYTES), StandardCharsets.UTF_8).strip();
    return s.isEmpty() ? "" : ": " + s + (b.length > QUOTED_BYTES ? "…" : "");
  }

  /** Keeps the first {@link #QUOTED_BYTES} (+1, to tell there was more) of a command's output. */
  private static final class Bounded extends OutputStream {
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) {
      if (kept.size() <= QUOTED_BYTES) {
        kept.write(b);
      }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      int room = QUOTED_BYTES + 1 - kept.size();
      if (room > 0) {
        kept.write(b, off, Math.min(room, len));
      }
    }

    synchronized byte[] bytes() {
      return kept.toByteArray();
    }
  }
}
