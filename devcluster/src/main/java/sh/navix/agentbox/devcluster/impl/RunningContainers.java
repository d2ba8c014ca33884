package sh.navix.agentbox.devcluster.impl;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import sh.navix.agentbox.devcluster.DevCluster;

/**
 * The containers the simulated node is running now, by pod and container name. The
 * {@link DevKubelet} enters a container when it starts running and removes it when it stops
 * (restart, pod deletion, node shutdown); the API server's exec handling and
 * {@link DevCluster#execs} read it from their own threads.
 */
final class RunningContainers {
  private final Map<String, Map<String, DevRuntime>> byPod = new ConcurrentHashMap<>();

  void started(String namespace, String pod, String container, DevRuntime runtime) {
    byPod.compute(key(namespace, pod), (k, containers) -> {
      Map<String, DevRuntime> c = containers == null ? new ConcurrentHashMap<>() : containers;
      c.put(container, runtime);
      return c;
    });
  }

  /** Removes {@code runtime}, if it is still the one running as {@code container}. */
  void stopped(String namespace, String pod, String container, DevRuntime runtime) {
    byPod.computeIfPresent(key(namespace, pod), (k, containers) -> {
      containers.remove(container, runtime);
      return containers.isEmpty() ? null : containers;
    });
  }

  /** The running instance of {@code container}, or null. */
  DevRuntime get(String namespace, String pod, String container) {
    return byPod.getOrDefault(key(namespace, pod), Map.of()).get(container);
  }

  /** Whether any container of the pod is running. */
  boolean anyRunning(String namespace, String pod) {
    return byPod.containsKey(key(namespace, pod));
  }

  /** What the pod's running containers have executed, oldest first. */
  List<DevCluster.Exec> execs(String namespace, String pod) {
    List<DevCluster.Exec> all = new ArrayList<>();
    byPod.getOrDefault(key(namespace, pod), Map.of()).values().forEach(rt -> all.addAll(rt.execs()));
    all.sort(Comparator.comparing(DevCluster.Exec::at));
    return List.copyOf(all);
  }

  private static String key(String namespace, String pod) {
    return namespace + "/" + pod;
  }
}
