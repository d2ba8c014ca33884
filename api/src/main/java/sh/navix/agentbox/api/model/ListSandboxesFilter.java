package sh.navix.agentbox.api.model;

import java.util.Set;

/**
 * Filters for listing sandboxes; null or empty means no filter. {@code limit} 0 means no limit.
 */
public record ListSandboxesFilter(
    String namespace, String poolName, Set<String> statuses, String team, String user, int limit, int offset) {

  public static final int DEFAULT_LIMIT = 20;
  public static final int MAX_LIMIT = 100;
}
