package sh.navix.agentbox.api.cache.impl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of object keys with constant-time add, remove and access by position, so that one of
 * many can be looked at from a random place without copying the set. Thread-safe: the informer's
 * thread writes it while the scheduler reads it.
 */
final class KeySample {
  private final List<String> keys = new ArrayList<>();
  private final Map<String, Integer> positions = new HashMap<>();

  synchronized void add(String key) {
    if (positions.putIfAbsent(key, keys.size()) == null) {
      keys.add(key);
    }
  }

  synchronized void remove(String key) {
    Integer at = positions.remove(key);
    if (at == null) {
      return;
    }
    String last = keys.remove(keys.size() - 1);
    if (at < keys.size()) {
      keys.set(at, last); // the last key fills the gap
      positions.put(last, at);
    }
  }

  synchronized int size() {
    return keys.size();
  }

  /** The key at {@code i} modulo the current size, or null when the set is empty. */
  synchronized String at(int i) {
    return keys.isEmpty() ? null : keys.get(Math.floorMod(i, keys.size()));
  }
}
