package sh.navix.agentbox.api.cache.impl;

import java.util.HashMap;
import java.util.Map;
import sh.navix.agentbox.api.cache.PoolPodCounts;

/**
 * One pool's pod counts, kept from pod events: each pod's slots are remembered by key, so an
 * update or a deletion takes back exactly what the pod last added, whatever the event's object
 * says. Thread-safe: the informer's thread writes it while the reconcilers and the API read it.
 */
final class PoolTally {
  private final Map<String, Integer> slotsByPod = new HashMap<>();
  private final int[] counts = new int[PoolPodCounts.SLOTS];

  synchronized void put(String podKey, int slots) {
    Integer was = slotsByPod.put(podKey, slots);
    if (was != null) {
      PoolPodCounts.add(counts, was, -1);
    }
    PoolPodCounts.add(counts, slots, 1);
  }

  synchronized void remove(String podKey) {
    Integer was = slotsByPod.remove(podKey);
    if (was != null) {
      PoolPodCounts.add(counts, was, -1);
    }
  }

  synchronized PoolPodCounts counts() {
    return PoolPodCounts.of(counts);
  }
}
