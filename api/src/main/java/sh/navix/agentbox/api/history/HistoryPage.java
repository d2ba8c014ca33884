package sh.navix.agentbox.api.history;

import java.util.List;
import sh.navix.agentbox.api.model.Sandbox;

/** One page of history records, newest first, and how many records matched in all. */
public record HistoryPage(List<Sandbox> items, long total) {
  public HistoryPage {
    items = List.copyOf(items);
  }
}
