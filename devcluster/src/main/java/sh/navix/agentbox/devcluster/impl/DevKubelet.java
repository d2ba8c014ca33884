package sh.navix.agentbox.devcluster.impl;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * The simulated node: watches every pod and plays the kubelet. It binds pods to the node, gives
 * each a unique 127.n.x.y address (n one per dev cluster), "pulls" images (a delay), runs containers that declare ports as
 * {@link DevRuntime}s, restarts a container whose image changed in place, pulls {@code slow-pull}
 * images for a minute, fails {@code fail-pull}
 * and {@code crash} images, and stops containers of deleted pods. All state lives on one Vert.x
 * context; API writes are status-only merge patches done on a worker, one at a time. Which
 * containers are running is published in a {@link RunningContainers} for the exec API.
 */
final class DevKubelet {
  private static final Logger LOG = LoggerFactory.getLogger(DevKubelet.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final long BACKOFF_MAX_MS = 10_000;
  /** How long a "slow-pull" image takes to pull. */
  static final long SLOW_PULL_MS = 60_000;

  private final Vertx vertx;
  private final KubernetesClient client;
  private final DevClusterOptions options;
  private final RunningContainers running;
  private final Map<String, PodSim> pods = new HashMap<>();
  /**
   * Second octets handed to the dev clusters of this JVM: each one its own (up to 254 at once),
   * starting at a random one, so that two processes (dev mode and a test run, two builds side by
   * side) rarely give pods the same address and port.
   */
  private static final AtomicInteger NETWORKS = new AtomicInteger(ThreadLocalRandom.current().nextInt(254));
  /** This node's pods live on 127.{network}.x.y. */
  private final int network = Math.floorMod(NETWORKS.getAndIncrement(), 254) + 1;
  private final BitSet usedIps = new BitSet(1 << 16);
  private Context context;
  private SharedIndexInformer<Pod> informer;
  private volatile boolean stopped;

  DevKubelet(Vertx vertx, KubernetesClient client, DevClusterOptions options, RunningContainers running) {
    this.vertx = vertx;
    this.client = client;
    this.options = options;
    this.running = running;
  }

  Future<Void> start() {
    context = vertx.getOrCreateContext();
    informer = client.pods().inAnyNamespace().runnableInformer(0);
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Pod pod) {
        context.runOnContext(v -> sync(pod));
      }

      @Override
      public void onUpdate(Pod oldPod, Pod newPod) {
        context.runOnContext(v -> sync(newPod));
      }

      @Override
      public void onDelete(Pod pod, boolean unknown) {
        context.runOnContext(v -> forget(key(pod)));
      }
    });
    return Future.fromCompletionStage(informer.start(), context).mapEmpty();
  }

  Future<Void> stop() {
    Future<Void> done = Future.future(p -> context.runOnContext(v -> {
      stopped = true;
      if (informer != null) {
        informer.close();
      }
      List<Future<Void>> stopping = new ArrayList<>();
      for (PodSim sim : pods.values()) {
        sim.containers.values().forEach(c -> stopping.add(c.stop()));
      }
      pods.clear();
      Future.join(stopping).<Void>mapEmpty().onComplete(p);
    }));
    return done;
  }

  // ---------------------------------------------------------------- per-pod state machine

  private void sync(Pod pod) {
    if (stopped) {
      return;
    }
    String key = key(pod);
    PodSim sim = pods.get(key);
    if (pod.getMetadata().getDeletionTimestamp() != null) {
      terminate(key, pod);
      return;
    }
    if (sim == null) {
      sim = new PodSim(key, pod.getMetadata().getNamespace(), pod.getMetadata().getName(), allocateIp(), Instant.now());
      pods.put(key, sim);
      LOG.info("pod {} scheduled to {} with IP {}", key, options.getNodeName(), sim.ip);
    }
    sim.uid = pod.getMetadata().getUid();
    sim.needsBinding = pod.getSpec().getNodeName() == null;
    for (Container c : pod.getSpec().getContainers()) {
      ContainerSim cs = sim.containers.get(c.getName());
      if (cs == null) {
        cs = new ContainerSim(sim, c.getName());
        sim.containers.put(c.getName(), cs);
        cs.create(c);
      } else if (!cs.image.equals(c.getImage())) {
        LOG.info("pod {} container {} image {} -> {}: restarting", key, c.getName(), cs.image, c.getImage());
        cs.restartCount++;
        cs.stop();
        cs.create(c);
      }
    }
    writeStatus(sim);
  }

  private void terminate(String key, Pod pod) {
    PodSim sim = pods.remove(key);
    List<Future<Void>> stopping = new ArrayList<>();
    if (sim != null) {
      sim.containers.values().forEach(c -> stopping.add(c.stop()));
      usedIps.clear(sim.ipIndex);
      LOG.info("pod {} terminating: containers stopped, IP {} released", key, sim.ip);
    }
    List<String> finalizers = pod.getMetadata().getFinalizers();
    if (finalizers == null || finalizers.isEmpty()) {
      // Graceful deletion done: the containers are gone, so the API object may go too.
      Future.join(stopping).onComplete(v -> blocking(() -> {
        client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
            .withGracePeriod(0).delete();
      }));
    }
  }

  private void forget(String key) {
    PodSim sim = pods.remove(key);
    if (sim != null) {
      sim.containers.values().forEach(ContainerSim::stop);
      usedIps.clear(sim.ipIndex);
      LOG.info("pod {} deleted: IP {} released", key, sim.ip);
    }
  }

  /** Indices 256.. map to 127.{network}.1.0 upwards; .0 and .255 of each block are skipped. */
  private int allocateIp() {
    for (int i = 256; i < (1 << 16); i++) {
      int low = i & 0xff;
      if (low != 0 && low != 255 && !usedIps.get(i)) {
        usedIps.set(i);
        return i;
      }
    }
    throw new IllegalStateException("no free loopback address for a pod");
  }

  // ---------------------------------------------------------------- status

  private void writeStatus(PodSim sim) {
    JsonObject status = status(sim);
    // JSON Patch, not merge patch: the mock server appends arrays on merge patches, and "add"
    // on /status replaces the whole status object as a kubelet's status update would.
    JsonArray patch = new JsonArray().add(new JsonObject().put("op", "add").put("path", "/status").put("value", status));
    if (sim.needsBinding) {
      patch.add(new JsonObject().put("op", "add").put("path", "/spec/nodeName").put("value", options.getNodeName()));
    }
    if (status.equals(sim.lastWritten) && !sim.needsBinding) {
      return;
    }
    sim.lastWritten = status;
    sim.needsBinding = false;
    String ns = sim.namespace;
    String name = sim.name;
    String uid = sim.uid;
    blocking(() -> {
      try {
        // The patch touches only status (and the node binding), never labels, annotations or images.
        client.pods().inNamespace(ns).withName(name).patch(PatchContext.of(PatchType.JSON), patch.encode());
      } catch (KubernetesClientException e) {
        if (e.getCode() != 404) {
          LOG.warn("status of pod {}/{} (uid {}) not written: {}", ns, name, uid, e.getMessage());
        }
      }
    });
  }

  private JsonObject status(PodSim sim) {
    boolean allReady = !sim.containers.isEmpty() && sim.containers.values().stream().allMatch(c -> c.state == State.RUNNING);
    boolean everRan = sim.containers.values().stream().anyMatch(c -> c.everRan);
    String since = sim.created.toString();
    JsonArray conditions = new JsonArray()
        .add(condition("PodScheduled", true, since))
        .add(condition("Initialized", true, since))
        .add(condition("ContainersReady", allReady, sim.readySince(allReady)))
        .add(condition("Ready", allReady, sim.readySince(allReady)));
    JsonArray statuses = new JsonArray();
    sim.containers.values().forEach(c -> statuses.add(c.status()));
    return new JsonObject()
        .put("phase", everRan ? "Running" : "Pending")
        .put("hostIP", "127.0.0.1")
        .put("hostIPs", new JsonArray().add(new JsonObject().put("ip", "127.0.0.1")))
        .put("podIP", sim.ip)
        .put("podIPs", new JsonArray().add(new JsonObject().put("ip", sim.ip)))
        .put("startTime", since)
        .put("qosClass", "BestEffort")
        .put("conditions", conditions)
        .put("containerStatuses", statuses);
  }

  private static JsonObject condition(String type, boolean ok, String since) {
    return new JsonObject().put("type", type).put("status", ok ? "True" : "False").put("lastTransitionTime", since);
  }

  private void blocking(Runnable call) {
    // Blocking fabric8 call; ordered so status writes of the node never overtake each other.
    context.executeBlocking(() -> {
      if (stopped) {
        return null; // the node is shutting down with the cluster: queued status writes are moot
      }
      call.run();
      return null;
    }, true).onFailure(e -> {
      if (!stopped) {
        LOG.warn("dev kubelet API call failed: {}", e.toString());
      }
    });
  }

  private static String key(Pod pod) {
    return pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
  }

  private static String hex64() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static String now() {
    return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
  }

  // ---------------------------------------------------------------- model

  private enum State { PULLING, RUNNING, PULL_FAILED, CRASHED }

  private final class PodSim {
    final String key;
    final String namespace;
    final String name;
    final int ipIndex;
    final String ip;
    final Instant created;
    final Map<String, ContainerSim> containers = new LinkedHashMap<>();
    String uid;
    boolean needsBinding;
    JsonObject lastWritten;
    String readySince;

    PodSim(String key, String namespace, String name, int ipIndex, Instant created) {
      this.key = key;
      this.namespace = namespace;
      this.name = name;
      this.ipIndex = ipIndex;
      this.ip = "127." + network + "." + (ipIndex >> 8) + "." + (ipIndex & 0xff);
      this.created = created.truncatedTo(ChronoUnit.SECONDS);
    }

    String readySince(boolean ready) {
      String now = now();
      if (ready && readySince == null) {
        readySince = now;
      } else if (!ready) {
        readySince = null;
        return now;
      }
      return readySince;
    }

    void changed() {
      if (pods.get(key) == this) {
        writeStatus(this);
      }
    }
  }

  private final class ContainerSim {
    final PodSim pod;
    final String name;
    String image;
    List<Integer> ports = List.of();
    String containerId;
    String bootId;
    int restartCount;
    boolean everRan;
    State state = State.PULLING;
    String waitingReason;
    String waitingMessage;
    String startedAt;
    JsonObject lastTerminated;
    DevRuntime runtime;
    long timer = -1;
    int generation;

    ContainerSim(PodSim pod, String name) {
      this.pod = pod;
      this.name = name;
    }

    /** Starts a new container instance for {@code spec}: pull, then run. */
    void create(Container spec) {
      image = spec.getImage();
      List<Integer> p = new ArrayList<>();
      if (spec.getPorts() != null) {
        for (ContainerPort cp : spec.getPorts()) {
          if (cp.getContainerPort() != null) {
            p.add(cp.getContainerPort());
          }
        }
      }
      ports = p;
      int gen = ++generation;
      state = State.PULLING;
      waitingReason = "ContainerCreating";
      waitingMessage = null;
      containerId = null;
      startedAt = null;
      // A "slow-pull" image stays ContainerCreating for a minute: startup timeouts can be exercised.
      long pull = image.contains("slow-pull") ? SLOW_PULL_MS : Math.max(1, options.getPullDelay().toMillis());
      timer = vertx.setTimer(pull, t -> {
        if (gen == generation) {
          pulled(gen);
        }
      });
    }

    private void pulled(int gen) {
      if (image.contains("fail-pull")) {
        state = State.PULL_FAILED;
        waitingReason = "ErrImagePull";
        waitingMessage = "failed to pull image \"" + image + "\": not found";
        LOG.info("pod {} container {}: ErrImagePull for {}", pod.key, name, image);
        pod.changed();
        timer = vertx.setTimer(1000, t -> {
          if (gen == generation) {
            waitingReason = "ImagePullBackOff";
            waitingMessage = "Back-off pulling image \"" + image + "\"";
            pod.changed();
          }
        });
      } else if (image.contains("crash")) {
        crash(gen, 1000);
      } else {
        run(gen);
      }
    }

    private void crash(int gen, long backoff) {
      String t = now();
      containerId = "containerd://" + hex64();
      lastTerminated = new JsonObject().put("terminated", new JsonObject()
          .put("exitCode", 1).put("reason", "Error").put("startedAt", t).put("finishedAt", t).put("containerID", containerId));
      everRan = true;
      state = State.CRASHED;
      waitingReason = "CrashLoopBackOff";
      waitingMessage = "back-off " + (backoff / 1000) + "s restarting failed container=" + name + " pod=" + pod.name;
      LOG.info("pod {} container {} exited with code 1 (CrashLoopBackOff)", pod.key, name);
      pod.changed();
      timer = vertx.setTimer(backoff, x -> {
        if (gen == generation) {
          restartCount++;
          crash(gen, Math.min(BACKOFF_MAX_MS, backoff * 2));
        }
      });
    }

    private void run(int gen) {
      containerId = "containerd://" + hex64();
      bootId = java.util.UUID.randomUUID().toString();
      JsonObject identity = new JsonObject()
          .put("pod", pod.name).put("namespace", pod.namespace).put("image", image).put("ip", pod.ip)
          .put("bootId", bootId).put("containerId", containerId);
      DevRuntime rt = new DevRuntime(identity);
      runtime = rt;
      rt.start(vertx, pod.ip, ports).onComplete(ar -> context.runOnContext(v -> {
        if (gen != generation) {
          rt.stop();
          return;
        }
        if (ar.failed()) {
          LOG.warn("pod {} container {} could not listen on {}:{}: {}", pod.key, name, pod.ip, ports, ar.cause().toString());
          rt.stop();
          crash(gen, 1000);
          return;
        }
        state = State.RUNNING;
        running.started(pod.namespace, pod.name, name, rt);
        everRan = true;
        startedAt = now();
        waitingReason = null;
        LOG.info("pod {} container {} running {} (restarts {})", pod.key, name, image, restartCount);
        pod.changed();
      }));
    }

    Future<Void> stop() {
      generation++;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      DevRuntime rt = runtime;
      runtime = null;
      if (rt != null) {
        running.stopped(pod.namespace, pod.name, name, rt);
      }
      if (state == State.RUNNING && containerId != null) {
        lastTerminated = new JsonObject().put("terminated", new JsonObject()
            .put("exitCode", 0).put("reason", "Completed").put("startedAt", startedAt).put("finishedAt", now())
            .put("containerID", containerId));
      }
      return rt == null ? Future.succeededFuture() : rt.stop();
    }

    JsonObject status() {
      JsonObject s = new JsonObject()
          .put("name", name)
          .put("image", image)
          .put("imageID", state == State.PULLING || state == State.PULL_FAILED ? "" : "docker-pullable://" + image + "@sha256:" + sha(image))
          .put("restartCount", restartCount)
          .put("ready", state == State.RUNNING)
          .put("started", state == State.RUNNING);
      if (containerId != null) {
        s.put("containerID", containerId);
      }
      if (state == State.RUNNING) {
        s.put("state", new JsonObject().put("running", new JsonObject().put("startedAt", startedAt)));
      } else {
        JsonObject waiting = new JsonObject().put("reason", waitingReason);
        if (waitingMessage != null) {
          waiting.put("message", waitingMessage);
        }
        s.put("state", new JsonObject().put("waiting", waiting));
      }
      if (lastTerminated != null) {
        s.put("lastState", lastTerminated);
      }
      return s;
    }
  }

  private static String sha(String image) {
    try {
      return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(image.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
