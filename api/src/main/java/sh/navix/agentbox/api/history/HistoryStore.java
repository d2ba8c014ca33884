package sh.navix.agentbox.api.history;

import io.vertx.core.Future;
import java.time.Instant;
import java.util.Optional;
import sh.navix.agentbox.api.model.Sandbox;

/**
 * Terminal sandbox records (Completed, Failed, Canceled): what ran, where, for how long and why it
 * ended. Written by the lifecycle reconcilers before a pod's sandbox keys are cleared, read by the
 * API. Implementations never block the calling event loop.
 */
public interface HistoryStore {

  /**
   * Stores the {@linkplain Sandbox#persisted() persisted} form of a terminal sandbox. A record is
   * written once per sandbox id: recording the same id again (a retry after a crash between
   * writing the record and clearing the pod) succeeds with {@code false} and changes nothing.
   */
  Future<Boolean> record(Sandbox sandbox);

  /** The record for {@code sandboxId}, if one was written. */
  Future<Optional<Sandbox>> get(String sandboxId);

  /** Records matching {@code query}, newest first, with the total count of matches. */
  Future<HistoryPage> query(HistoryQuery query);

  /** Deletes records stored before {@code cutoff}; answers how many went. */
  Future<Integer> purgeOlderThan(Instant cutoff);

  /** Releases the store's files; later calls fail. */
  Future<Void> close();
}
