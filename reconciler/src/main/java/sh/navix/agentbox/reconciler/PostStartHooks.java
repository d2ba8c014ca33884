package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
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
 * sandbox is released meanwhile. Runs on the leader only: a leader that dies while hooks run
 * leaves the rest of them unrun (hooks run at most once).
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
  private MessageConsumer<Bus.SandboxRunning> consumer;
  private HttpClient http;

  PostStartHooks(Lifecycle lifecycle, KubernetesClient client, MeterRegistry registry, Duration timeout) {
    this.lifecycle = lifecycle;
    this.client = client;
    this.registry = registry;
    this.timeout = timeout;
  }

  @Override
  public Future<?> start() {
    http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
        .setKeepAlive(false));
    consumer = vertx.eventBus().consumer(Bus.SANDBOX_RUNNING, this::running);
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    return Future.all(consumer.unregister(), http.close());
  }

  private void running(Message<Bus.SandboxRunning> m) {
    var s = m.body().sandbox();
    Optional<Pod> pod = lifecycle.cache().pod(s.namespace(), s.podName()).filter(p -> s.sandboxId().equals(Pods.sandboxId(p)));
    List<PostStartHookAction> hooks = pod.map(PostStartHooks::hooks).orElse(List.of());
    if (!hooks.isEmpty()) {
      LOG.info("sandbox {}: running {} post-start hook(s)", s.sandboxId(), hooks.size());
      run(pod.get(), s.sandboxId(), hooks, 0);
    }
  }

  /** The hooks a pod's claim asked for; none when the annotation is missing or unreadable. */
  static List<PostStartHookAction> hooks(Pod p) {
    String json = Pods.annotation(p, Annotations.POST_START_HOOKS);
    if (json == null || json.isBlank()) {
      return List.of();
    }
    try {
      return Json.mapper().readValue(json, HOOKS);
    } catch (Exception e) {
      LOG.warn("pod {}/{}: unreadable {} annotation, no hooks run: {}", Pods.namespace(p), Pods.name(p), Annotations.POST_START_HOOKS,
          e.toString());
      return List.of();
    }
  }

  private void run(Pod p, String sandboxId, List<PostStartHookAction> hooks, int i) {
    if (i == hooks.size()) {
      LOG.info("sandbox {}: post-start hooks done", sandboxId);
      return;
    }
    if (!stillRunning(p, sandboxId)) {
      LOG.info("sandbox {}: no longer running, its remaining {} post-start hook(s) not run", sandboxId, hooks.size() - i);
      return;
    }
    PostStartHookAction hook = hooks.get(i);
    String kind = hook.exec() != null ? "exec" : "httpPost";
    String what = "postStartHooks[" + i + "] (" + describe(hook) + ")";
    Future<Void> done = hook.exec() != null ? exec(p, hook.exec().command()) : post(p, hook.httpPost());
    done.onComplete(ar -> {
      registry.counter("agentbox_post_start_hooks_total", "kind", kind, "outcome", ar.succeeded() ? "succeeded" : "failed").increment();
      if (ar.succeeded()) {
        run(p, sandboxId, hooks, i + 1);
      } else if (stillRunning(p, sandboxId)) {
        String message = what + " failed: " + ar.cause().getMessage();
        LOG.warn("sandbox {}: {}; releasing it as Failed", sandboxId, message);
        vertx.eventBus().request(Bus.RELEASE, new Bus.ReleaseRequest(Pods.namespace(p), sandboxId, SandboxStopReason.Failed.name(),
                FAILURE_REASON, message))
            .onFailure(e -> LOG.warn("sandbox {}: release after its failed post-start hook failed: {}", sandboxId, e.toString()));
      }
    });
  }

  /** Whether the pod still holds the sandbox, running. */
  private boolean stillRunning(Pod p, String sandboxId) {
    return lifecycle.cache().pod(Pods.namespace(p), Pods.name(p))
        .filter(now -> sandboxId.equals(Pods.sandboxId(now)) && !Pods.inPhase(now, SandboxPhase.STOPPING) && !Pods.deleting(now)
            && !Pods.inPhase(now, SandboxPhase.FAILED))
        .isPresent();
  }

  private static String describe(PostStartHookAction hook) {
    if (hook.exec() != null) {
      String c = hook.exec().command();
      return "exec " + (c.length() > 60 ? c.substring(0, 60) + "…" : c);
    }
    return "httpPost :" + hook.httpPost().port() + path(hook.httpPost());
  }

  private static String path(PostStartHookAction.HttpPostHookAction h) {
    return h.path() == null || h.path().isEmpty() ? "/" : h.path().startsWith("/") ? h.path() : "/" + h.path();
  }

  /** POSTs the hook's body (JSON, {@code {}} when none) to the pod; fails unless the answer is 2xx. */
  private Future<Void> post(Pod p, PostStartHookAction.HttpPostHookAction h) {
    String ip = p.getStatus() == null ? null : p.getStatus().getPodIP();
    if (ip == null || ip.isEmpty()) {
      return Future.failedFuture(new IllegalStateException("the pod has no IP"));
    }
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.POST).setHost(ip).setPort(h.port()).setURI(path(h))
        .setTimeout(timeout.toMillis()).putHeader("content-type", "application/json");
    if (h.headers() != null) {
      h.headers().forEach(o::putHeader);
    }
    Buffer body = Buffer.buffer(Json.encode(h.body() == null ? Map.of() : h.body()));
    return http.request(o)
        .compose(req -> req.send(body))
        .compose(resp -> resp.body().compose(b -> resp.statusCode() / 100 == 2 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new IllegalStateException("answered " + resp.statusCode() + quote(b.getBytes())))))
        .recover(e -> Future.failedFuture(e instanceof IllegalStateException ? e
            : new IllegalStateException(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), e)));
  }

  /** Runs {@code sh -c command} in the pod's first container; fails unless it exits 0. */
  private Future<Void> exec(Pod p, String command) {
    String container = p.getSpec().getContainers().get(0).getName();
    Bounded out = new Bounded();
    Promise<Void> done = Promise.promise();
    vertx.<ExecWatch>executeBlocking(() -> client.pods().inNamespace(Pods.namespace(p)).withName(Pods.name(p)).inContainer(container)
            .writingOutput(out).writingError(out).exec("sh", "-c", command))
        .onFailure(e -> done.tryFail(new IllegalStateException("exec failed: " + e.getMessage(), e)))
        .onSuccess(watch -> {
          long timer = vertx.setTimer(timeout.toMillis(), t -> {
            watch.close();
            done.tryFail(new IllegalStateException("did not finish within " + timeout.toSeconds() + " s" + quote(out.bytes())));
          });
          Future.fromCompletionStage(watch.exitCode(), vertx.getOrCreateContext()).onComplete(ar -> {
            vertx.cancelTimer(timer);
            watch.close();
            if (ar.failed()) {
              done.tryFail(new IllegalStateException("exec failed: " + ar.cause().getMessage(), ar.cause()));
            } else if (ar.result() == null || ar.result() != 0) {
              done.tryFail(new IllegalStateException("exited with " + (ar.result() == null ? "an unknown code" : "code " + ar.result())
                  + quote(out.bytes())));
            } else {
              done.tryComplete();
            }
          });
        });
    return done.future();
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
