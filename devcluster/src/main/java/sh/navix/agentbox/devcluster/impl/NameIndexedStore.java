package sh.navix.agentbox.devcluster.impl;

import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.AttributeType;
import io.fabric8.mockwebserver.crud.Value;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The mock API server's object store (attribute set → JSON, in insertion order, as fabric8 keeps
 * it) with an index from object name to the keys that carry it, so that finding one named object
 * costs a hash lookup instead of a match against every object held.
 *
 * <p>Every write goes through {@link #put}, {@link #remove} or {@link #clear}, which keep the index
 * in step; the views are read-only, so nothing can change the store behind the index's back. Like
 * the {@code Collections.synchronizedMap} it replaces, each call is atomic on its own and
 * iterating a view is the caller's business (fabric8 holds its read/write lock for that).
 */
final class NameIndexedStore implements Map<AttributeSet, String> {
  private static final String NAME = KubernetesAttributesExtractor.NAME;
  /** {@code Value}'s wildcard: a name of this matches every name. */
  private static final String ANY = "*";

  private final Map<AttributeSet, String> objects = new LinkedHashMap<>();
  /** Name → keys with that name, in the order they were stored. */
  private final Map<String, List<AttributeSet>> byName = new HashMap<>();
  /** Keys whose name could match more than one name (a wildcard, no single plain value): rare; they turn the index off. */
  private final Set<AttributeSet> unindexable = new LinkedHashSet<>();
  /** The query a thread's {@link #entrySet} is narrowed to (see {@link #narrowedTo}), if any. */
  private final ThreadLocal<AttributeSet> narrowed = new ThreadLocal<>();

  /**
   * The keys that can match {@code query}, in store order, or null when the index cannot tell
   * (the query names no single object): then the caller matches against every key.
   */
  synchronized List<AttributeSet> candidates(AttributeSet query) {
    String name = plainName(query);
    if (name == null || !unindexable.isEmpty()) {
      return null;
    }
    List<AttributeSet> keys = byName.get(name);
    return keys == null ? List.of() : List.copyOf(keys);
  }

  /**
   * The one name a key or query carries as a plain equality (the attribute fabric8 matches by
   * {@code Attribute.equals}), or null when it has none or it could stand for several names.
   */
  private static String plainName(AttributeSet attributes) {
    Attribute name = attributes.getAttribute(NAME);
    if (name == null || name.getType() != AttributeType.WITH || name.getValues().size() != 1) {
      return null;
    }
    Value value = name.getValues().get(0);
    String text = value == null ? null : value.toString();
    return text == null || ANY.equals(text) ? null : text;
  }

  @Override
  public synchronized String put(AttributeSet key, String value) {
    String previous = objects.put(key, value);
    if (previous == null) {
      index(key);
    }
    return previous;
  }

  @Override
  public synchronized String remove(Object key) {
    String previous = objects.remove(key);
    if (previous != null) {
      unindex((AttributeSet) key);
    }
    return previous;
  }

  @Override
  public synchronized void putAll(Map<? extends AttributeSet, ? extends String> m) {
    m.forEach(this::put);
  }

  @Override
  public synchronized void clear() {
    objects.clear();
    byName.clear();
    unindexable.clear();
  }

  private void index(AttributeSet key) {
    if (!key.containsKey(NAME)) {
      return; // a key without a name never matches a query that names one: it needs no entry
    }
    String name = plainName(key);
    if (name == null) {
      unindexable.add(key);
    } else {
      byName.computeIfAbsent(name, n -> new ArrayList<>(1)).add(key);
    }
  }

  private void unindex(AttributeSet key) {
    if (unindexable.remove(key)) {
      return;
    }
    String name = plainName(key);
    List<AttributeSet> keys = name == null ? null : byName.get(name);
    if (keys != null) {
      keys.remove(key);
      if (keys.isEmpty()) {
        byName.remove(name);
      }
    }
  }

  @Override
  public synchronized int size() {
    return objects.size();
  }

  @Override
  public synchronized boolean isEmpty() {
    return objects.isEmpty();
  }

  @Override
  public synchronized boolean containsKey(Object key) {
    return objects.containsKey(key);
  }

  @Override
  public synchronized boolean containsValue(Object value) {
    return objects.containsValue(value);
  }

  @Override
  public synchronized String get(Object key) {
    return objects.get(key);
  }

  @Override
  public Set<AttributeSet> keySet() {
    return Collections.unmodifiableSet(objects.keySet());
  }

  @Override
  public Collection<String> values() {
    return Collections.unmodifiableCollection(objects.values());
  }

  /**
   * Runs {@code action} with this thread's {@link #entrySet} narrowed to the entries that can
   * match {@code query} (its candidates, in store order): for fabric8 code that finds objects by
   * copying every entry and matching each, such as its delete. Everything else reads and writes
   * the whole store as usual. When the index cannot tell (the query names no single object) the
   * view is not narrowed.
   */
  <T> T narrowedTo(AttributeSet query, Supplier<T> action) {
    narrowed.set(query);
    try {
      return action.get();
    } finally {
      narrowed.remove();
    }
  }

  @Override
  public Set<Entry<AttributeSet, String>> entrySet() {
    AttributeSet query = narrowed.get();
    if (query != null) {
      synchronized (this) {
        List<AttributeSet> keys = candidates(query);
        if (keys != null) {
          Set<Entry<AttributeSet, String>> entries = new LinkedHashSet<>();
          keys.forEach(k -> entries.add(new AbstractMap.SimpleImmutableEntry<>(k, objects.get(k))));
          return Collections.unmodifiableSet(entries);
        }
      }
    }
    return Collections.unmodifiableSet(objects.entrySet());
  }

  @Override
  public synchronized boolean equals(Object o) {
    return objects.equals(o);
  }

  @Override
  public synchronized int hashCode() {
    return objects.hashCode();
  }
}
