package sh.navix.agentbox.reconciler.history;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.h2.api.ErrorCode;
import org.h2.jdbcx.JdbcDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.history.HistoryPage;
import sh.navix.agentbox.api.history.HistoryQuery;
import sh.navix.agentbox.api.history.HistoryStore;
import sh.navix.agentbox.api.model.Sandbox;

/**
 * The embedded {@link HistoryStore}: one H2 database file on the gateway's disk.
 *
 * <p><b>File location.</b> The gateway passes {@code $AGENTBOX_HOME/history/sandboxes}; H2 appends
 * {@code .mv.db}, so the data lives in {@code $AGENTBOX_HOME/history/sandboxes.mv.db} (a path that
 * already ends in {@code .mv.db} is accepted too). Missing directories are created. H2 keeps its
 * default file lock, so a second process (say, another gateway started with the same
 * {@code AGENTBOX_HOME}) cannot open the file; inside one JVM, where H2 would silently share the
 * database, a registry of open files refuses the second {@link #open} as well. The URL carries
 * {@code DB_CLOSE_ON_EXIT=FALSE} so H2's own shutdown hook does not close the database under the
 * gateway's graceful shutdown, which may still record sandboxes before calling {@link #close()}.
 *
 * <p><b>Why H2.</b> Pure Java (no native library to ship per platform, unlike SQLite), a single
 * file, plain JDBC and SQL for filtered, paged queries, and the MVStore engine is append-only and
 * crash-safe: a record committed before a crash is there after the restart.
 *
 * <p><b>Exactly once.</b> The reconcilers write a record and then clear the pod's sandbox keys; a
 * crash in between makes them record the same sandbox again after the restart. {@code sandbox_id}
 * is the table's primary key, so that second insert fails with a duplicate key and
 * {@link #record} answers {@code false}, keeping the first record untouched.
 *
 * <p><b>Threading.</b> The store holds one JDBC connection. All JDBC work runs on a dedicated
 * single-thread Vert.x worker executor (never on the caller's event loop), additionally serialized
 * by a lock; futures complete on the caller's context.
 *
 * <p><b>Schema.</b> Table {@code schema_version} lists the applied migrations; {@link #MIGRATIONS}
 * holds them in order, so a later version appends a migration. A file written by a newer gateway
 * (higher version than this code knows) is refused.
 *
 * <p><b>Retention.</b> With a positive retention, records stored longer ago than that are purged
 * at open and then every hour.
 */
public final class H2HistoryStore implements HistoryStore {
  private static final Logger LOG = LoggerFactory.getLogger(H2HistoryStore.class);

  static final String SUFFIX = ".mv.db";
  static final long PURGE_INTERVAL_MS = Duration.ofHours(1).toMillis();

  /** Migration {@code i} brings the schema to version {@code i + 1}; statements must be re-runnable. */
  private static final List<List<String>> MIGRATIONS =
      List.of(
          List.of(
              """
              CREATE TABLE IF NOT EXISTS sandbox_history (
                sandbox_id  VARCHAR PRIMARY KEY,
                namespace   VARCHAR,
                pool_name   VARCHAR,
                status      VARCHAR NOT NULL,
                team        VARCHAR,
                user_name   VARCHAR,
                recorded_at TIMESTAMP NOT NULL,
                ended_at    TIMESTAMP NOT NULL,
                body        CLOB NOT NULL
              )""",
              "CREATE INDEX IF NOT EXISTS sandbox_history_namespace ON sandbox_history(namespace)",
              "CREATE INDEX IF NOT EXISTS sandbox_history_pool_name ON sandbox_history(pool_name)",
              "CREATE INDEX IF NOT EXISTS sandbox_history_status ON sandbox_history(status)",
              "CREATE INDEX IF NOT EXISTS sandbox_history_team ON sandbox_history(team)",
              "CREATE INDEX IF NOT EXISTS sandbox_history_user_name ON sandbox_history(user_name)",
              "CREATE INDEX IF NOT EXISTS sandbox_history_ended_at ON sandbox_history(ended_at DESC, sandbox_id)",
              "CREATE INDEX IF NOT EXISTS sandbox_history_recorded_at ON sandbox_history(recorded_at)"));

  static final int SCHEMA_VERSION = MIGRATIONS.size();

  /**
   * Record bodies up to this size are kept in their row. H2 otherwise moves every CLOB over 256
   * bytes (nearly every record) to its separate LOB storage, whose cleanup thread spins on each
   * write: under a burst of releases it took most of a core from the claims it shared the machine
   * with. The setting is kept in the database file; bodies stored before stay readable where they are.
   */
  static final int INPLACE_BODY_BYTES = 1 << 20;

  /** Database files (absolute, without {@code .mv.db}) open in this JVM. */
  private static final Set<Path> OPEN_FILES = ConcurrentHashMap.newKeySet();

  private static final AtomicLong SEQ = new AtomicLong();

  private final Vertx vertx;
  private final WorkerExecutor worker;
  private final Path dbPath;
  private final Clock clock;
  private final Object lock = new Object();

  /** Guarded by {@link #lock}; null once closed. */
  private Connection connection;

  private volatile boolean closed;
  /** Guarded by {@code this}. */
  private long timerId = -1;
  /** Guarded by {@code this}. */
  private Future<Void> closeFuture;

  private H2HistoryStore(Vertx vertx, WorkerExecutor worker, Path dbPath, Connection connection, Clock clock) {
    this.vertx = vertx;
    this.worker = worker;
    this.dbPath = dbPath;
    this.connection = connection;
    this.clock = clock;
  }

  /**
   * Opens (creating if needed) the history database at {@code file} (H2 appends {@code .mv.db}).
   * With a positive {@code retention}, older records are purged now and every hour. Fails if the
   * file is already open, in this process or another.
   */
  public static Future<HistoryStore> open(Vertx vertx, Path file, Duration retention) {
    return open(vertx, file, retention, Clock.systemUTC());
  }

  /** As {@link #open(Vertx, Path, Duration)}, with the clock that stamps {@code recorded_at}. */
  static Future<HistoryStore> open(Vertx vertx, Path file, Duration retention, Clock clock) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(clock, "clock");
    Path db;
    try {
      db = databasePath(file);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    if (!OPEN_FILES.add(db)) {
      return Future.failedFuture(
          new IllegalStateException("history store " + db + SUFFIX + " is already open in this process"));
    }
    WorkerExecutor worker = vertx.createSharedWorkerExecutor("agentbox-history-" + SEQ.incrementAndGet(), 1);
    return worker
        .executeBlocking(() -> connect(db), true)
        .transform(
            ar -> {
              if (ar.failed()) {
                OPEN_FILES.remove(db);
                worker.close();
                return Future.failedFuture(ar.cause());
              }
              H2HistoryStore store = new H2HistoryStore(vertx, worker, db, ar.result(), clock);
              LOG.info("History store open at {}{}", db, SUFFIX);
              if (retention == null || retention.isZero() || retention.isNegative()) {
                return Future.succeededFuture(store);
              }
              return store.startRetention(retention).map(v -> (HistoryStore) store);
            });
  }

  private static Path databasePath(Path file) {
    Path abs = file.toAbsolutePath().normalize();
    String name = abs.getFileName() == null ? "" : abs.getFileName().toString();
    if (name.endsWith(SUFFIX)) {
      name = name.substring(0, name.length() - SUFFIX.length());
      abs = abs.resolveSibling(name);
    }
    if (name.isEmpty() || abs.getParent() == null) {
      throw new IllegalArgumentException("history store file must name a file: " + file);
    }
    if (abs.toString().indexOf(';') >= 0) {
      throw new IllegalArgumentException("history store path must not contain ';': " + file);
    }
    return abs;
  }

  private static Connection connect(Path db) throws Exception {
    Files.createDirectories(db.getParent());
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL("jdbc:h2:file:" + db + ";DB_CLOSE_ON_EXIT=FALSE");
    ds.setUser("sa");
    ds.setPassword("");
    Connection conn;
    try {
      conn = ds.getConnection();
    } catch (SQLException e) {
      if (e.getErrorCode() == ErrorCode.DATABASE_ALREADY_OPEN_1) {
        throw new IllegalStateException(
            "history store " + db + SUFFIX
                + " is locked by another process (is another gateway using the same AGENTBOX_HOME?)",
            e);
      }
      throw new IllegalStateException("cannot open history store " + db + SUFFIX + ": " + e.getMessage(), e);
    }
    try {
      migrate(conn, db);
      try (Statement st = conn.createStatement()) {
        st.execute("SET MAX_LENGTH_INPLACE_LOB " + INPLACE_BODY_BYTES);
      }
      return conn;
    } catch (Exception e) {
      try {
        conn.close();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static void migrate(Connection conn, Path db) throws SQLException {
    int version;
    try (Statement st = conn.createStatement()) {
      st.execute("CREATE TABLE IF NOT EXISTS schema_version (version INT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)");
      try (ResultSet rs = st.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
        rs.next();
        version = rs.getInt(1);
      }
    }
    if (version > SCHEMA_VERSION) {
      throw new IllegalStateException(
          "history store " + db + SUFFIX + " has schema version " + version
              + ", newer than this gateway supports (" + SCHEMA_VERSION + ")");
    }
    for (int v = version; v < SCHEMA_VERSION; v++) {
      try (Statement st = conn.createStatement()) {
        for (String sql : MIGRATIONS.get(v)) {
          st.execute(sql);
        }
      }
      try (PreparedStatement ps = conn.prepareStatement("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")) {
        ps.setInt(1, v + 1);
        ps.setObject(2, LocalDateTime.now(ZoneOffset.UTC));
        ps.executeUpdate();
      }
      LOG.info("History store {}{} migrated to schema version {}", db, SUFFIX, v + 1);
    }
  }

  private Future<Void> startRetention(Duration retention) {
    return purgeExpired(retention)
        .otherwise(
            e -> {
              LOG.warn("History store: purging expired records at open failed", e);
              return null;
            })
        .map(
            v -> {
              synchronized (this) {
                if (!closed) {
                  timerId = vertx.setPeriodic(PURGE_INTERVAL_MS, PURGE_INTERVAL_MS, id -> purgeExpired(retention)
                      .onFailure(e -> {
                        if (!closed) {
                          LOG.warn("History store: purging expired records failed", e);
                        }
                      }));
                }
              }
              return null;
            });
  }

  private Future<Void> purgeExpired(Duration retention) {
    return purgeOlderThan(clock.instant().minus(retention))
        .map(
            n -> {
              if (n > 0) {
                LOG.info("History store: purged {} record(s) older than {}", n, retention);
              }
              return null;
            });
  }

  // ---------------------------------------------------------------------------------------------

  @Override
  public Future<Boolean> record(Sandbox sandbox) {
    if (sandbox == null) {
      return Future.failedFuture(new IllegalArgumentException("sandbox must not be null"));
    }
    if (isBlank(sandbox.sandboxId())) {
      return Future.failedFuture(new IllegalArgumentException("sandbox has no sandboxId"));
    }
    if (isBlank(sandbox.status())) {
      return Future.failedFuture(
          new IllegalArgumentException("sandbox " + sandbox.sandboxId() + " has no status"));
    }
    return run(
        conn -> {
          Sandbox persisted = sandbox.persisted();
          String body = Json.encode(persisted);
          Instant recordedAt = clock.instant();
          Instant endedAt = endedAt(persisted, recordedAt);
          try (PreparedStatement ps =
              conn.prepareStatement(
                  "INSERT INTO sandbox_history (sandbox_id, namespace, pool_name, status, team, user_name,"
                      + " recorded_at, ended_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, persisted.sandboxId());
            ps.setString(2, persisted.namespace());
            ps.setString(3, persisted.poolName());
            ps.setString(4, persisted.status());
            ps.setString(5, persisted.team());
            ps.setString(6, persisted.user());
            ps.setObject(7, utc(recordedAt));
            ps.setObject(8, utc(endedAt));
            ps.setString(9, body);
            ps.executeUpdate();
            return true;
          } catch (SQLException e) {
            if ("23505".equals(e.getSQLState())) {
              LOG.debug("History store: sandbox {} already recorded", persisted.sandboxId());
              return false;
            }
            throw e;
          }
        });
  }

  @Override
  public Future<Optional<Sandbox>> get(String sandboxId) {
    if (isBlank(sandboxId)) {
      return Future.failedFuture(new IllegalArgumentException("sandboxId must not be blank"));
    }
    return run(
        conn -> {
          try (PreparedStatement ps = conn.prepareStatement("SELECT body FROM sandbox_history WHERE sandbox_id = ?")) {
            ps.setString(1, sandboxId);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(Json.decode(rs.getString(1), Sandbox.class)) : Optional.empty();
            }
          }
        });
  }

  @Override
  public Future<HistoryPage> query(HistoryQuery query) {
    if (query == null) {
      return Future.failedFuture(new IllegalArgumentException("query must not be null"));
    }
    StringBuilder where = new StringBuilder();
    List<String> args = new ArrayList<>();
    eq(where, args, "namespace", query.namespace());
    eq(where, args, "pool_name", query.poolName());
    eq(where, args, "team", query.team());
    eq(where, args, "user_name", query.user());
    Set<String> statuses = new TreeSet<>();
    for (String s : query.statuses()) {
      if (!isBlank(s)) {
        statuses.add(s);
      }
    }
    if (!statuses.isEmpty()) {
      where.append(where.isEmpty() ? " WHERE " : " AND ").append("status IN (");
      where.append(String.join(", ", java.util.Collections.nCopies(statuses.size(), "?"))).append(')');
      args.addAll(statuses);
    }
    return run(
        conn -> {
          long total;
          try (PreparedStatement ps = conn.prepareStatement("SELECT COUNT(*) FROM sandbox_history" + where)) {
            bind(ps, args);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              total = rs.getLong(1);
            }
          }
          List<Sandbox> items = new ArrayList<>();
          if (query.limit() > 0 && query.offset() < total) {
            try (PreparedStatement ps =
                conn.prepareStatement(
                    "SELECT body FROM sandbox_history" + where
                        + " ORDER BY ended_at DESC, sandbox_id LIMIT ? OFFSET ?")) {
              int i = bind(ps, args);
              ps.setInt(i++, query.limit());
              ps.setInt(i, query.offset());
              try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                  items.add(Json.decode(rs.getString(1), Sandbox.class));
                }
              }
            }
          }
          return new HistoryPage(items, total);
        });
  }

  @Override
  public Future<Integer> purgeOlderThan(Instant cutoff) {
    if (cutoff == null) {
      return Future.failedFuture(new IllegalArgumentException("cutoff must not be null"));
    }
    return run(
        conn -> {
          try (PreparedStatement ps = conn.prepareStatement("DELETE FROM sandbox_history WHERE recorded_at < ?")) {
            ps.setObject(1, utc(cutoff));
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public synchronized Future<Void> close() {
    if (closeFuture != null) {
      return closeFuture;
    }
    closed = true;
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
    }
    closeFuture =
        worker
            .<Void>executeBlocking(
                () -> {
                  synchronized (lock) {
                    Connection conn = connection;
                    connection = null;
                    if (conn != null) {
                      conn.close();
                    }
                  }
                  return null;
                },
                true)
            .onComplete(ar -> LOG.info("History store {}{} closed", dbPath, SUFFIX))
            .eventually(
                () -> {
                  OPEN_FILES.remove(dbPath);
                  return worker.close().recover(e -> Future.succeededFuture());
                });
    return closeFuture;
  }

  // ---------------------------------------------------------------------------------------------

  @FunctionalInterface
  private interface SqlWork<T> {
    T apply(Connection conn) throws Exception;
  }

  private <T> Future<T> run(SqlWork<T> work) {
    if (closed) {
      return Future.failedFuture(closedError());
    }
    return worker.executeBlocking(
        () -> {
          synchronized (lock) {
            if (connection == null) {
              throw closedError();
            }
            return work.apply(connection);
          }
        },
        true);
  }

  private static IllegalStateException closedError() {
    return new IllegalStateException("history store closed");
  }

  private static void eq(StringBuilder where, List<String> args, String column, String value) {
    if (value != null && !value.isEmpty()) {
      where.append(where.isEmpty() ? " WHERE " : " AND ").append(column).append(" = ?");
      args.add(value);
    }
  }

  /** Binds {@code args} from parameter 1; answers the next free parameter index. */
  private static int bind(PreparedStatement ps, List<String> args) throws SQLException {
    int i = 1;
    for (String a : args) {
      ps.setString(i++, a);
    }
    return i;
  }

  /** When the sandbox ended: recycledAt, else terminatedAt, else when it was recorded. */
  static Instant endedAt(Sandbox s, Instant recordedAt) {
    Instant t = parse(s.recycledAt());
    if (t == null) {
      t = parse(s.terminatedAt());
    }
    return t != null ? t : recordedAt;
  }

  private static Instant parse(String rfc3339) {
    if (isBlank(rfc3339)) {
      return null;
    }
    try {
      return OffsetDateTime.parse(rfc3339).toInstant();
    } catch (DateTimeException e) {
      LOG.debug("History store: ignoring unparseable time {}", rfc3339);
      return null;
    }
  }

  private static LocalDateTime utc(Instant instant) {
    return LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
  }

  private static boolean isBlank(String s) {
    return s == null || s.isBlank();
  }
}
