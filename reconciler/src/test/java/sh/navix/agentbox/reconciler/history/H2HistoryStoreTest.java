package sh.navix.agentbox.reconciler.history;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.crd.SandboxStatusDetail;
import sh.navix.agentbox.api.history.HistoryPage;
import sh.navix.agentbox.api.history.HistoryQuery;
import sh.navix.agentbox.api.history.HistoryStore;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.api.model.SandboxEndpoint;
import sh.navix.agentbox.api.model.SandboxStatus;

class H2HistoryStoreTest {
  private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");

  private static Vertx vertx;

  @TempDir Path dir;

  private final MutableClock clock = new MutableClock(T0);
  private HistoryStore store;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void closeStore() throws Exception {
    if (store != null) {
      store.close().await(10, TimeUnit.SECONDS);
    }
  }

  private Path file() {
    return dir.resolve("history").resolve("sandboxes");
  }

  private HistoryStore open(Duration retention) throws Exception {
    return H2HistoryStore.open(vertx, file(), retention, clock).await(10, TimeUnit.SECONDS);
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.await(10, TimeUnit.SECONDS);
  }

  private static Throwable failure(Future<?> f) throws Exception {
    AsyncResult<?> ar = f.transform(r -> Future.<AsyncResult<?>>succeededFuture(r)).await(10, TimeUnit.SECONDS);
    assertThat(ar.failed()).as("future should have failed").isTrue();
    return ar.cause();
  }

  @Test
  void recordThenGetReturnsPersistedForm() throws Exception {
    store = open(Duration.ZERO);
    SandboxStatusDetail detail = new SandboxStatusDetail();
    detail.setReason("OOMKilled");
    detail.setMessage("container exceeded its memory limit");
    Sandbox live =
        new Sandbox(
            "sb-1", "team-a", "research", "alice", "python", "python-abc12",
            Map.of("task", "eval", "run", "42"), SandboxStatus.FAILED,
            Map.of("main", "python:3.12", "sidecar", "envoy:1.30"), "node-1", "containerd://c0ffee",
            "500m", "1Gi", "2025-03-01T10:00:00Z", "2025-03-01T10:00:05Z", "2025-03-01T11:00:00Z",
            "2025-03-01T11:00:30Z", 3600L, Map.of("main", new SandboxEndpoint("http://gw/sb-1", "/logs/sb-1")),
            detail, "OOMKilled", 137, "out of memory");

    assertThat(await(store.record(live))).isTrue();

    Sandbox stored = await(store.get("sb-1")).orElseThrow();
    assertThat(Json.encode(stored)).isEqualTo(Json.encode(live.persisted()));
    assertThat(stored.durationSeconds()).isNull();
    assertThat(stored.endpoints()).isNull();
    assertThat(stored.statusDetail()).isNull();
    assertThat(stored.metadata()).containsEntry("task", "eval");
    assertThat(stored.exitCode()).isEqualTo(137);
    assertThat(await(store.get("sb-unknown"))).isEmpty();
  }

  @Test
  void recordingTheSameSandboxTwiceKeepsTheFirstRecord() throws Exception {
    store = open(Duration.ZERO);
    Sandbox first = sandbox("sb-1", "ns", "pool", SandboxStatus.COMPLETED, "t", "u", "2025-03-01T11:00:00Z");
    Sandbox retry = sandbox("sb-1", "ns", "pool", SandboxStatus.FAILED, "t", "u", "2025-03-01T11:30:00Z");

    assertThat(await(store.record(first))).isTrue();
    assertThat(await(store.record(retry))).isFalse();

    assertThat(Json.encode(await(store.get("sb-1")).orElseThrow())).isEqualTo(Json.encode(first.persisted()));
    assertThat(await(store.query(HistoryQuery.all(10))).total()).isEqualTo(1);
  }

  @Test
  void recordsSurviveAGatewayRestart() throws Exception {
    store = open(Duration.ZERO);
    Sandbox s = sandbox("sb-1", "ns", "pool", SandboxStatus.CANCELED, "t", "u", "2025-03-01T11:00:00Z");
    assertThat(await(store.record(s))).isTrue();
    await(store.close());
    assertThat(dir.resolve("history").resolve("sandboxes.mv.db")).isRegularFile();

    store = open(Duration.ZERO);
    assertThat(Json.encode(await(store.get("sb-1")).orElseThrow())).isEqualTo(Json.encode(s.persisted()));
    assertThat(await(store.record(s))).as("a retry after restart is refused").isFalse();
    assertThat(await(store.query(HistoryQuery.all(10))).total()).isEqualTo(1);
  }

  @Test
  void openAcceptsTheFileNameWithH2Suffix() throws Exception {
    store = open(Duration.ZERO);
    await(store.record(sandbox("sb-1", "ns", "pool", SandboxStatus.COMPLETED, "t", "u", null)));
    await(store.close());

    store = await(H2HistoryStore.open(vertx, dir.resolve("history").resolve("sandboxes.mv.db"), Duration.ZERO));
    assertThat(await(store.get("sb-1"))).isPresent();
  }

  @Test
  void queryFiltersPagesAndOrdersNewestFirst() throws Exception {
    store = open(Duration.ZERO);
    // ended (terminatedAt) one hour apart: sb-1 oldest ... sb-6 newest
    List<Sandbox> all =
        List.of(
            sandbox("sb-1", "ns-a", "python", SandboxStatus.COMPLETED, "red", "alice", "2025-03-01T01:00:00Z"),
            sandbox("sb-2", "ns-a", "node", SandboxStatus.FAILED, "red", "bob", "2025-03-01T02:00:00Z"),
            sandbox("sb-3", "ns-b", "python", SandboxStatus.CANCELED, "blue", "alice", "2025-03-01T03:00:00Z"),
            sandbox("sb-4", "ns-b", "python", SandboxStatus.COMPLETED, "blue", "carol", "2025-03-01T04:00:00Z"),
            sandbox("sb-5", "ns-a", "python", SandboxStatus.FAILED, "red", "alice", "2025-03-01T05:00:00Z"),
            sandbox("sb-6", "ns-b", "node", SandboxStatus.COMPLETED, "blue", "bob", "2025-03-01T06:00:00Z"));
    // recorded in a shuffled order, so ordering must come from the end time
    for (int i : new int[] {3, 0, 5, 1, 4, 2}) {
      assertThat(await(store.record(all.get(i)))).isTrue();
    }

    assertThat(ids(HistoryQuery.all(100))).containsExactly("sb-6", "sb-5", "sb-4", "sb-3", "sb-2", "sb-1");
    assertThat(ids(q("ns-a", null, Set.of(), null, null, 100, 0))).containsExactly("sb-5", "sb-2", "sb-1");
    assertThat(ids(q(null, "node", Set.of(), null, null, 100, 0))).containsExactly("sb-6", "sb-2");
    assertThat(ids(q(null, null, Set.of(SandboxStatus.FAILED, SandboxStatus.CANCELED), null, null, 100, 0)))
        .containsExactly("sb-5", "sb-3", "sb-2");
    assertThat(ids(q(null, null, Set.of(SandboxStatus.COMPLETED), null, null, 100, 0)))
        .containsExactly("sb-6", "sb-4", "sb-1");
    assertThat(ids(q(null, null, Set.of(), "blue", null, 100, 0))).containsExactly("sb-6", "sb-4", "sb-3");
    assertThat(ids(q(null, null, Set.of(), null, "alice", 100, 0))).containsExactly("sb-5", "sb-3", "sb-1");
    assertThat(ids(q("ns-a", "python", Set.of(SandboxStatus.FAILED), "red", "alice", 100, 0)))
        .containsExactly("sb-5");
    assertThat(ids(q("", "", null, "", "", 100, 0))).as("empty filters do not filter").hasSize(6);
    assertThat(ids(q("ns-c", null, Set.of(), null, null, 100, 0))).isEmpty();

    HistoryPage page = await(store.query(q(null, null, Set.of(), null, null, 2, 1)));
    assertThat(page.items()).extracting(Sandbox::sandboxId).containsExactly("sb-5", "sb-4");
    assertThat(page.total()).isEqualTo(6);

    HistoryPage filteredPage = await(store.query(q(null, "python", Set.of(), null, null, 2, 2)));
    assertThat(filteredPage.items()).extracting(Sandbox::sandboxId).containsExactly("sb-3", "sb-1");
    assertThat(filteredPage.total()).isEqualTo(4);

    HistoryPage beyond = await(store.query(q(null, null, Set.of(), null, null, 10, 10)));
    assertThat(beyond.items()).isEmpty();
    assertThat(beyond.total()).isEqualTo(6);

    HistoryPage countOnly = await(store.query(HistoryQuery.all(0)));
    assertThat(countOnly.items()).isEmpty();
    assertThat(countOnly.total()).isEqualTo(6);
  }

  @Test
  void newestFirstPrefersRecycledAtThenTerminatedAtThenRecordTime() throws Exception {
    store = open(Duration.ZERO);
    clock.set(Instant.parse("2025-03-01T03:30:00Z"));
    await(store.record(sandbox("no-times", "ns", "p", SandboxStatus.CANCELED, "t", "u", null)));
    await(store.record(sandbox("terminated", "ns", "p", SandboxStatus.COMPLETED, "t", "u", "2025-03-01T02:00:00Z")));
    Sandbox recycled =
        withRecycledAt(
            sandbox("recycled", "ns", "p", SandboxStatus.COMPLETED, "t", "u", "2025-03-01T01:00:00Z"),
            "2025-03-01T04:00:00Z");
    await(store.record(recycled));

    assertThat(ids(HistoryQuery.all(10))).containsExactly("recycled", "no-times", "terminated");
  }

  @Test
  void purgeOlderThanRemovesOnlyOldRecords() throws Exception {
    store = open(Duration.ZERO);
    clock.set(T0);
    await(store.record(sandbox("old", "ns", "p", SandboxStatus.COMPLETED, "t", "u", "2025-03-01T11:00:00Z")));
    clock.set(T0.plus(Duration.ofDays(2)));
    // ended long ago, but recorded recently: retention counts from the record time
    await(store.record(sandbox("new", "ns", "p", SandboxStatus.COMPLETED, "t", "u", "2025-01-01T00:00:00Z")));

    assertThat(await(store.purgeOlderThan(T0.minusSeconds(1)))).isZero();
    assertThat(await(store.purgeOlderThan(T0.plus(Duration.ofDays(1))))).isEqualTo(1);

    assertThat(await(store.get("old"))).isEmpty();
    assertThat(await(store.get("new"))).isPresent();
    assertThat(await(store.query(HistoryQuery.all(10))).total()).isEqualTo(1);
    assertThat(await(store.purgeOlderThan(T0.plus(Duration.ofDays(1))))).isZero();
  }

  @Test
  void retentionPurgesExpiredRecordsWhenOpened() throws Exception {
    store = open(Duration.ZERO);
    clock.set(T0);
    await(store.record(sandbox("old", "ns", "p", SandboxStatus.COMPLETED, "t", "u", null)));
    clock.set(T0.plus(Duration.ofDays(6)));
    await(store.record(sandbox("recent", "ns", "p", SandboxStatus.COMPLETED, "t", "u", null)));
    await(store.close());

    clock.set(T0.plus(Duration.ofDays(8)));
    store = open(Duration.ofDays(7));
    assertThat(await(store.get("old"))).isEmpty();
    assertThat(await(store.get("recent"))).isPresent();
  }

  @Test
  void openingAnOpenFileFails() throws Exception {
    store = open(Duration.ZERO);

    Throwable sameProcess = failure(H2HistoryStore.open(vertx, file(), Duration.ZERO));
    assertThat(sameProcess).isInstanceOf(IllegalStateException.class);
    assertThat(sameProcess.getMessage()).contains(file().toAbsolutePath().toString());

    // once closed, the file can be opened again
    await(store.close());
    store = open(Duration.ZERO);
  }

  @Test
  void openingAFileLockedByAnotherProcessFails() throws Exception {
    store = open(Duration.ZERO);
    await(store.close());
    store = null;

    // stand in for another gateway process holding H2's lock on the file
    Path dbFile = dir.resolve("history").resolve("sandboxes.mv.db");
    try (FileChannel channel = FileChannel.open(dbFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock = channel.lock()) {
      Throwable locked = failure(H2HistoryStore.open(vertx, file(), Duration.ZERO));
      assertThat(locked).isInstanceOf(IllegalStateException.class);
      assertThat(locked.getMessage()).contains(file().toAbsolutePath().toString()).contains("locked");
    }

    // the failed attempt did not leave the file marked as open
    store = open(Duration.ZERO);
  }

  /** A record's body stays in its row (not in H2's separate LOB storage), a large one included. */
  @Test
  void recordBodiesAreKeptInTheirRows() throws Exception {
    store = open(Duration.ZERO);
    Sandbox big = sandbox("sb-big", "ns", "p", SandboxStatus.COMPLETED, "t", "u", null, Map.of("notes", "n".repeat(200_000)));
    assertThat(await(store.record(big))).isTrue();
    assertThat(await(store.record(big))).as("a second record of the same sandbox").isFalse();
    assertThat(await(store.get("sb-big")).orElseThrow().metadata()).containsEntry("notes", "n".repeat(200_000));
    await(store.close());
    store = null;
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:h2:file:" + file(), "sa", "");
        java.sql.ResultSet r = c.createStatement().executeQuery(
            "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS WHERE SETTING_NAME = 'MAX_LENGTH_INPLACE_LOB'")) {
      assertThat(r.next()).as("the in-place LOB limit is set").isTrue();
      assertThat(Integer.parseInt(r.getString(1))).isGreaterThanOrEqualTo(256 * 1024);
    }
  }

  @Test
  void invalidRecordsAreRejected() throws Exception {
    store = open(Duration.ZERO);
    assertThat(failure(store.record(sandbox(null, "ns", "p", SandboxStatus.COMPLETED, "t", "u", null))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(failure(store.record(sandbox(" ", "ns", "p", SandboxStatus.COMPLETED, "t", "u", null))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(failure(store.record(sandbox("sb-1", "ns", "p", null, "t", "u", null))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(failure(store.record(sandbox("sb-1", "ns", "p", "", "t", "u", null))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(await(store.query(HistoryQuery.all(10))).total()).isZero();
  }

  @Test
  void callsAfterCloseFail() throws Exception {
    store = open(Duration.ofDays(30));
    await(store.record(sandbox("sb-1", "ns", "p", SandboxStatus.COMPLETED, "t", "u", null)));
    await(store.close());
    await(store.close()); // idempotent

    Sandbox s = sandbox("sb-2", "ns", "p", SandboxStatus.COMPLETED, "t", "u", null);
    for (Future<?> f :
        List.of(store.record(s), store.get("sb-1"), store.query(HistoryQuery.all(10)), store.purgeOlderThan(T0))) {
      Throwable t = failure(f);
      assertThat(t).isInstanceOf(IllegalStateException.class).hasMessage("history store closed");
    }
  }

  // ---------------------------------------------------------------------------------------------

  private List<String> ids(HistoryQuery query) throws Exception {
    return await(store.query(query)).items().stream().map(Sandbox::sandboxId).toList();
  }

  private static HistoryQuery q(
      String namespace, String pool, Set<String> statuses, String team, String user, int limit, int offset) {
    return new HistoryQuery(namespace, pool, statuses, team, user, limit, offset);
  }

  private static Sandbox sandbox(
      String id, String namespace, String pool, String status, String team, String user, String terminatedAt) {
    return sandbox(id, namespace, pool, status, team, user, terminatedAt, Map.of("k", "v"));
  }

  private static Sandbox sandbox(
      String id, String namespace, String pool, String status, String team, String user, String terminatedAt, Map<String, String> metadata) {
    return new Sandbox(
        id, namespace, team, user, pool, pool + "-pod-" + id, metadata, status,
        Map.of("main", "img:1"), "node-1", "containerd://" + id, "1", "512Mi", "2025-03-01T00:00:00Z",
        "2025-03-01T00:00:01Z", terminatedAt, null, 42L, null, null, null,
        SandboxStatus.FAILED.equals(status) ? 1 : null, null);
  }

  private static Sandbox withRecycledAt(Sandbox s, String recycledAt) {
    return new Sandbox(
        s.sandboxId(), s.namespace(), s.team(), s.user(), s.poolName(), s.podName(), s.metadata(), s.status(),
        s.containerImages(), s.nodeName(), s.containerId(), s.cpu(), s.memory(), s.claimedAt(), s.startedAt(),
        s.terminatedAt(), recycledAt, s.durationSeconds(), s.endpoints(), s.statusDetail(), s.failureReason(),
        s.exitCode(), s.failureMessage());
  }

  /** A clock the test moves by hand, stamping {@code recorded_at}. */
  static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    void set(Instant instant) {
      now = instant;
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
