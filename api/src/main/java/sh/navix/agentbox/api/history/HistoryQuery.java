package sh.navix.agentbox.api.history;

import java.util.Set;

/**
 * A filter over history records; null (or empty) fields do not filter. {@code statuses} matches
 * any of the given {@link sh.navix.agentbox.api.model.SandboxStatus} values.
 */
public record HistoryQuery(
    String namespace, String poolName, Set<String> statuses, String team, String user, int limit, int offset) {

  public HistoryQuery {
    if (limit < 0 || offset < 0) {
      throw new IllegalArgumentException("limit and offset must not be negative");
    }
    statuses = statuses == null ? Set.of() : Set.copyOf(statuses);
  }

  /** Everything, first {@code limit} records. */
  public static HistoryQuery all(int limit) {
    return new HistoryQuery(null, null, Set.of(), null, null, limit, 0);
  }
}
