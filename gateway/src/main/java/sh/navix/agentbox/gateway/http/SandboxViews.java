package sh.navix.agentbox.gateway.http;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxRuntimeSpec;
import sh.navix.agentbox.api.crd.SandboxStatusDetail;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.SandboxRecords;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.api.model.SandboxEndpoint;
import sh.navix.agentbox.api.model.SandboxStatus;

/**
 * The sandbox as users see it: live from its pod, or from history, with the fields computed at
 * query time (endpoints through the proxy, status detail, duration).
 */
final class SandboxViews {
  private final ClusterCache cache;
  private final String domain;
  private final java.util.function.IntSupplier proxyPort;

  SandboxViews(ClusterCache cache, String domain, java.util.function.IntSupplier proxyPort) {
    this.cache = cache;
    this.domain = domain;
    this.proxyPort = proxyPort;
  }

  /** The live view of a claimed pod, or empty when the pod holds no sandbox. */
  Optional<Sandbox> live(Pod p) {
    String status = SandboxRecords.liveStatus(p);
    if (status == null || Pods.sandboxId(p) == null) {
      return Optional.empty();
    }
    Sandbox s = SandboxRecords.of(p, status, null, null);
    SandboxStatusDetail detail = status.equals(SandboxStatus.STARTING) || status.equals(SandboxStatus.FAILED) ? detail(p) : null;
    return Optional.of(withRuntimeFields(s, endpoints(p, s.sandboxId()), detail));
  }

  /** A history record with its duration. */
  Sandbox historical(Sandbox s) {
    return withRuntimeFields(s, null, null);
  }

  private Sandbox withRuntimeFields(Sandbox s, Map<String, SandboxEndpoint> endpoints, SandboxStatusDetail detail) {
    return new Sandbox(s.sandboxId(), s.namespace(), s.team(), s.user(), s.poolName(), s.podName(), s.metadata(), s.status(),
        s.containerImages(), s.nodeName(), s.containerId(), s.cpu(), s.memory(), s.claimedAt(), s.startedAt(), s.terminatedAt(),
        s.recycledAt(), duration(s), endpoints, detail, s.failureReason(), s.exitCode(), s.failureMessage());
  }

  /** Wall-clock seconds: running so far, or start to end; none for Starting and Canceled. */
  static Long duration(Sandbox s) {
    if (s.startedAt() == null || SandboxStatus.STARTING.equals(s.status()) || SandboxStatus.CANCELED.equals(s.status())) {
      return null;
    }
    try {
      Instant start = Instant.parse(s.startedAt());
      Instant end = s.terminatedAt() != null ? Instant.parse(s.terminatedAt()) : Instant.now();
      return Math.max(0, Duration.between(start, end).toSeconds());
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** Runtime name → URL through the gateway's proxy ({@code <port>-<id>.<domain>}). */
  Map<String, SandboxEndpoint> endpoints(Pod p, String sandboxId) {
    Optional<SandboxPool> pool = cache.pool(Pods.namespace(p), Pods.pool(p));
    if (pool.isEmpty() || pool.get().getSpec().getRuntimes() == null) {
      return null;
    }
    Map<String, SandboxEndpoint> m = new LinkedHashMap<>();
    for (SandboxRuntimeSpec r : pool.get().getSpec().getRuntimes()) {
      if (r.getPort() != null) {
        m.put(r.getName(), new SandboxEndpoint("http://" + r.getPort() + "-" + sandboxId + "." + domain + ":" + proxyPort.getAsInt(), r.getLogDir()));
      }
    }
    return m.isEmpty() ? null : m;
  }

  /** Why a sandbox is still starting or why it failed, from the pod as it is now. */
  static SandboxStatusDetail detail(Pod p) {
    SandboxStatusDetail d = new SandboxStatusDetail();
    d.setLastUpdatedTime(PodTransitions.rfc3339(Instant.now()));
    Optional<Pods.PodFailure> failure = Pods.failure(p);
    String failureReason = Pods.annotation(p, sh.navix.agentbox.api.crd.Annotations.FAILURE_REASON);
    if (failureReason != null) {
      d.setReason(failureReason);
      d.setMessage(Pods.annotation(p, sh.navix.agentbox.api.crd.Annotations.FAILURE_MESSAGE));
    } else if (failure.isPresent()) {
      d.setReason(failure.get().reason());
      d.setMessage(failure.get().message());
    } else {
      Optional<ContainerStatus> cs = Pods.firstContainerStatus(p);
      if (cs.isPresent() && cs.get().getState() != null && cs.get().getState().getWaiting() != null) {
        d.setReason(cs.get().getState().getWaiting().getReason());
        d.setMessage(cs.get().getState().getWaiting().getMessage());
      } else if (cs.isPresent() && !sh.navix.agentbox.api.lifecycle.ImageRefs.runs(cs.get(), Pods.specImage(p))) {
        d.setReason("Pulling");
        d.setMessage("pulling image " + Pods.specImage(p));
      } else {
        d.setReason("ContainerStarting");
        d.setMessage("waiting for the container to become ready");
      }
    }
    return d;
  }
}
