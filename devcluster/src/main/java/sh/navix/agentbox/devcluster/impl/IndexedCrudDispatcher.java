package sh.navix.agentbox.devcluster.impl;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.CrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.HttpURLConnection;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * fabric8's CRUD dispatcher, with every lookup of one named object (GET of an object, and the
 * existing object a PUT, PATCH or POST works on) answered from a {@link NameIndexedStore}
 * instead of by matching every object the server holds. fabric8 finds an object by testing each
 * stored attribute set against the request's, so each such request cost time in proportion to
 * the objects held: with a few thousand pods that match was half of the server's time, and the
 * server has one thread. A DELETE of one named object is handed only the entries of that name
 * (see {@link #handleDelete}). Lists, watches and collection deletes still match every object.
 *
 * <p>The answers are the same as fabric8's own: the candidates the index gives are tested with
 * fabric8's own {@code AttributeSet.matches}, in store order, and when the query does not name a
 * single object the index steps aside. fabric8 keeps its store in a field of its own class, so
 * the store is put in place (and its lock read) by reflection when the dispatcher is made; if
 * fabric8 changes those fields the dev cluster fails to start, saying so.
 *
 * <p>It also decides a written object's new resourceVersion and generation by comparing the
 * stored and the written object rather than by fabric8's JSON Patch between them (see {@link
 * #touchResourceVersion}): the same answers, for less of the server's one thread.
 *
 * <p>And a watch from a resourceVersion starts with what happened since, not with every object
 * held (see {@link #handleWatch}).
 */
final class IndexedCrudDispatcher extends KubernetesCrudDispatcher {
  private static final Pattern WATCH_FROM = Pattern.compile("[?&]resourceVersion=(\\d+)(?:&|$)");
  private static final JsonFactory JSON = new JsonFactory();
  private final NameIndexedStore store = new NameIndexedStore();
  private final Lock readLock;
  /** fabric8's watch listener (a class of its package): what it sends when the watch opens, and its match and send. */
  private final Field onOpen;
  private final Method watchMatches;
  private final Method watchSends;
  /** fabric8's resourceVersion counter: a deletion takes a version of its own from it. */
  private final AtomicLong versions;
  /** The last {@link #keptDeletions} deletions, oldest first, for watches that resume (guarded by itself). */
  private final ArrayDeque<Deletion> deletions = new ArrayDeque<>();
  private final int keptDeletions;
  /** The version of the newest deletion no longer kept (guarded by {@link #deletions}): a watch from before it is too old. */
  private long forgottenUpTo;

  /** An object deleted at version {@code version}, as it was. */
  private record Deletion(AttributeSet key, String json, long version) {}

  IndexedCrudDispatcher(int keptDeletions) {
    super(List.of());
    this.keptDeletions = keptDeletions;
    try {
      Field map = CrudDispatcher.class.getDeclaredField("map");
      map.setAccessible(true);
      map.set(this, store);
      Field lock = KubernetesCrudDispatcher.class.getDeclaredField("lock");
      lock.setAccessible(true);
      readLock = ((ReadWriteLock) lock.get(this)).readLock();
      Class<?> listener = Class.forName("io.fabric8.kubernetes.client.server.mock.WatchEventsListener");
      onOpen = listener.getDeclaredField("onOpenAction");
      onOpen.setAccessible(true);
      watchMatches = listener.getDeclaredMethod("attributeMatches", AttributeSet.class);
      watchMatches.setAccessible(true);
      watchSends = listener.getDeclaredMethod("sendWebSocketResponse", String.class, Watcher.Action.class);
      watchSends.setAccessible(true);
      Field counter = KubernetesCrudDispatcher.class.getDeclaredField("resourceVersion");
      counter.setAccessible(true);
      versions = (AtomicLong) counter.get(this);
    } catch (ReflectiveOperationException | ClassCastException | SecurityException e) {
      throw new IllegalStateException("fabric8's CRUD dispatcher or watch listener no longer has the fields and methods the dev cluster uses", e);
    }
  }

  /**
   * A watch from a resourceVersion starts with what happened after that version, as a real API
   * server resumes a watch: the objects deleted since (DELETED, in the order they went), then the
   * objects changed since (each as ADDED, as it is now). fabric8's starts every watch with every
   * object it holds, whatever the version. An informer asks for this when it opens its watch
   * again, which it does every 5 to 10 minutes: with fabric8's answer, a gateway watching a pool of
   * 12,600 pods took all 12,600 again, and worked through them (a second and more) before the
   * changes that came next, and never heard of a pod deleted while its watch was closed. A watch
   * without a version, or from 0, starts with every object, as before. Only the last deletions are
   * kept (10,000 unless the options say otherwise): a watch from before the oldest of them could
   * not be told of every deletion since, and gets what a real API server sends for a watch from
   * before its watch cache, an ERROR event with a 410 Expired Status ("too old resource
   * version"), and nothing else; an informer then lists again. Not done: an object that only
   * stopped matching a watch's label selector while it was closed is not sent as DELETED.
   */
  @Override
  public MockResponse handleWatch(String path) {
    MockResponse response = super.handleWatch(path);
    Matcher from = WATCH_FROM.matcher(path);
    long since = from.find() ? Long.parseLong(from.group(1)) : 0;
    if (since > 0 && response.getWebSocketListener() != null) {
      Object listener = response.getWebSocketListener();
      Consumer<Object> whatHappenedSince = l -> {
        readLock.lock();
        try {
          List<Deletion> gone;
          long oldest;
          synchronized (deletions) {
            gone = deletions.stream().filter(d -> d.version() > since).toList();
            oldest = forgottenUpTo;
          }
          if (since < oldest) {
            watchSends.invoke(l, tooOld(since, oldest), Watcher.Action.ERROR);
            return;
          }
          for (Deletion d : gone) {
            if ((boolean) watchMatches.invoke(l, d.key())) {
              watchSends.invoke(l, d.json(), Watcher.Action.DELETED);
            }
          }
          for (Map.Entry<AttributeSet, String> e : store.entrySet()) {
            if (resourceVersion(e.getValue()) > since && (boolean) watchMatches.invoke(l, e.getKey())) {
              watchSends.invoke(l, e.getValue(), Watcher.Action.ADDED);
            }
          }
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("could not start a watch from resourceVersion " + since, e);
        } finally {
          readLock.unlock();
        }
      };
      try {
        onOpen.set(listener, whatHappenedSince);
      } catch (IllegalAccessException e) {
        throw new IllegalStateException("could not start a watch from resourceVersion " + since, e);
      }
    }
    return response;
  }

  /**
   * fabric8 stores, changes and removes objects here (under its write lock); a removal is kept as a
   * {@link Deletion} with a version of its own, after every version handed out before it, for
   * watches that resume from a version.
   */
  @Override
  public void processEvent(String path, AttributeSet pathAttributes, AttributeSet oldAttributes, GenericKubernetesResource resource,
      String newState) {
    String removed = newState == null && oldAttributes != null ? store.get(oldAttributes) : null;
    super.processEvent(path, pathAttributes, oldAttributes, resource, newState);
    if (removed != null && !store.containsKey(oldAttributes)) {
      synchronized (deletions) {
        if (deletions.size() == keptDeletions) {
          forgottenUpTo = deletions.removeFirst().version();
        }
        deletions.addLast(new Deletion(oldAttributes, removed, versions.incrementAndGet()));
      }
    }
  }

  /** The Status a real API server sends (as an ERROR watch event) for a watch from a version it no longer has the history of. */
  static String tooOld(long since, long oldest) {
    return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: "
        + since + " (" + oldest + ")\",\"reason\":\"Expired\",\"code\":410}";
  }

  /** {@code metadata.resourceVersion} of a stored object, read without parsing the rest; 0 when it has none. */
  static long resourceVersion(String json) {
    try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return 0;
      }
      while (p.nextToken() == JsonToken.PROPERTY_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals(METADATA) && value == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.PROPERTY_NAME) {
            String inner = p.currentName();
            p.nextToken();
            if (inner.equals(RESOURCE_VERSION)) {
              String rv = p.getString();
              return rv == null || rv.isEmpty() || !rv.chars().allMatch(Character::isDigit) ? 0 : Long.parseLong(rv);
            }
            p.skipChildren();
          }
          return 0;
        }
        p.skipChildren();
      }
      return 0;
    }
  }

  /** Called by fabric8's POST, PUT and PATCH handlers (with its write lock held) for the object they work on. */
  @Override
  public Map.Entry<AttributeSet, String> findResource(AttributeSet query) {
    List<AttributeSet> keys = store.candidates(query);
    return keys == null ? super.findResource(query) : firstMatch(keys, query);
  }

  @Override
  public MockResponse handleGet(String path) {
    // Watches (fabric8 looks for watch=true in the query) and lists go the way they always went.
    if (path.contains("watch=true")) {
      return super.handleGet(path);
    }
    AttributeSet query = attributeExtractor.fromPath(path);
    if (!query.containsKey(KubernetesAttributesExtractor.NAME)) {
      return super.handleGet(path);
    }
    readLock.lock();
    try {
      List<AttributeSet> keys = store.candidates(query);
      if (keys != null) {
        Map.Entry<AttributeSet, String> found = firstMatch(keys, query);
        // As fabric8 answers a GET of one object: the object, or a bare 404.
        return found == null
            ? new MockResponse().setResponseCode(HttpURLConnection.HTTP_NOT_FOUND)
            : new MockResponse().setResponseCode(HttpURLConnection.HTTP_OK).setBody(found.getValue());
      }
    } finally {
      readLock.unlock();
    }
    return super.handleGet(path); // the query names no single object the index can tell
  }

  /**
   * fabric8 deletes by copying every entry of the store and matching each against the request's
   * attributes; for a delete of one named object it is handed only the entries of that name, so
   * it finds, deletes and answers exactly as before (with finalizers and watch events), in time
   * that does not grow with the objects held.
   */
  @Override
  public MockResponse handleDelete(String path) {
    // A collection delete names no single object: the store does not narrow its view for it.
    return store.narrowedTo(attributeExtractor.fromPath(path), () -> super.handleDelete(path));
  }

  /**
   * fabric8 gives a written object a new resourceVersion when the write changed anything, and finds
   * out by computing a JSON Patch between the stored object and the written one; whether the two
   * are equal says the same (objects compare by their fields in any order, as the patch does).
   * Each PUT and PATCH makes this test and the one of {@link #touchGeneration}: with the patches,
   * the two were about an eighth of the server's thread under claims (compare-and-swap patches).
   */
  @Override
  public void touchResourceVersion(JsonNode current, JsonNode updated) {
    if (!current.equals(updated)) {
      ((ObjectNode) updated.get(METADATA)).put(RESOURCE_VERSION, String.valueOf(requestResourceVersion()));
    }
  }

  /**
   * As fabric8 does, the generation goes up when the write changed a field outside {@code
   * metadata} and {@code status} (the spec, for most kinds), told here by comparing those fields
   * instead of by a JSON Patch. (One case reads better than fabric8's: a value moved out of the
   * spec into the metadata is a spec change; its patch names only the metadata path.)
   */
  @Override
  public void touchGeneration(JsonNode current, JsonNode updated) {
    if (!(current instanceof ObjectNode) || !(updated instanceof ObjectNode)) {
      super.touchGeneration(current, updated);
      return;
    }
    if (changedOutsideMetadataAndStatus(current, updated)) {
      ((ObjectNode) updated.get(METADATA)).put(GENERATION, current.path(METADATA).path(GENERATION).asInt(0) + 1);
    }
  }

  private static boolean changedOutsideMetadataAndStatus(JsonNode current, JsonNode updated) {
    for (Map.Entry<String, JsonNode> field : current.properties()) {
      if (!isMetadataOrStatus(field.getKey()) && !field.getValue().equals(updated.get(field.getKey()))) {
        return true;
      }
    }
    for (String name : updated.propertyNames()) {
      if (!isMetadataOrStatus(name) && !current.has(name)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isMetadataOrStatus(String field) {
    return field.equals(METADATA) || field.equals("status");
  }

  private Map.Entry<AttributeSet, String> firstMatch(List<AttributeSet> keys, AttributeSet query) {
    for (AttributeSet key : keys) {
      String value = key.matches(query) ? store.get(key) : null;
      if (value != null) {
        return new AbstractMap.SimpleImmutableEntry<>(key, value);
      }
    }
    return null;
  }
}
