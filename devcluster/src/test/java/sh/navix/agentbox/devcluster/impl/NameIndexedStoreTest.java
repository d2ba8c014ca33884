package sh.navix.agentbox.devcluster.impl;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The name index never hides an object that fabric8's own match would find, nor changes which comes first. */
class NameIndexedStoreTest {

  @Test
  void candidatesFindWhatMatchingEveryKeyFinds() {
    Random random = new Random(42);
    NameIndexedStore store = new NameIndexedStore();
    List<AttributeSet> stored = new ArrayList<>();
    for (int step = 0; step < 5_000; step++) {
      if (stored.isEmpty() || random.nextInt(3) > 0) {
        AttributeSet key = key(random);
        store.put(key, "object " + step);
        if (!stored.contains(key)) {
          stored.add(key);
        }
      } else {
        store.remove(stored.remove(random.nextInt(stored.size())));
      }
      AttributeSet query = query(random);
      List<AttributeSet> candidates = store.candidates(query);
      assertThat(candidates).as("a query naming one object is answered from the index").isNotNull();
      assertThat(candidates.stream().filter(k -> k.matches(query)).toList())
          .as("step %d, query %s", step, query)
          .isEqualTo(store.keySet().stream().filter(k -> k.matches(query)).toList());
    }
  }

  @Test
  void queriesThatNameNoSingleObjectAreLeftToAFullMatch() {
    NameIndexedStore store = new NameIndexedStore();
    store.put(new AttributeSet(new Attribute("plural", "pods"), new Attribute("name", "a")), "{}");
    assertThat(store.candidates(new AttributeSet(new Attribute("plural", "pods")))).isNull();
    assertThat(store.candidates(new AttributeSet(new Attribute("plural", "pods"), new Attribute("name", "*")))).isNull();
    // A stored wildcard name could match any name asked for: the index steps aside while it is there.
    AttributeSet wildcard = new AttributeSet(new Attribute("plural", "pods"), new Attribute("name", "*"));
    store.put(wildcard, "{}");
    assertThat(store.candidates(new AttributeSet(new Attribute("name", "a")))).isNull();
    store.remove(wildcard);
    assertThat(store.candidates(new AttributeSet(new Attribute("name", "a")))).hasSize(1);
  }

  /** What a delete of one named object sees (fabric8 copies the entry set and matches each entry): only that name's entries, none it would miss. */
  @Test
  void aViewNarrowedToANamedQueryHoldsEveryEntryItMatchesAndNoOtherName() {
    Random random = new Random(7);
    NameIndexedStore store = new NameIndexedStore();
    for (int step = 0; step < 2_000; step++) {
      store.put(key(random), "object " + step);
      AttributeSet query = query(random);
      List<Map.Entry<AttributeSet, String>> narrowed = store.narrowedTo(query, () -> new ArrayList<>(store.entrySet()));
      String name = query.getAttribute("name").getValues().get(0).toString();
      assertThat(narrowed).as("step %d, query %s", step, query)
          .allSatisfy(e -> assertThat(e.getKey().getAttribute("name").getValues().get(0).toString()).isEqualTo(name));
      assertThat(narrowed.stream().filter(e -> e.getKey().matches(query)).map(e -> Map.entry(e.getKey(), e.getValue())).toList())
          .as("step %d, query %s", step, query)
          .isEqualTo(store.entrySet().stream().filter(e -> e.getKey().matches(query)).map(e -> Map.entry(e.getKey(), e.getValue())).toList());
    }
    assertThat(store.entrySet()).as("outside the narrowing, the whole store").hasSize(store.size());
    AttributeSet unnamed = new AttributeSet(new Attribute("plural", "pods"));
    assertThat(store.narrowedTo(unnamed, () -> store.entrySet().size())).as("a query naming no object is not narrowed").isEqualTo(store.size());
  }

  private static AttributeSet key(Random random) {
    return new AttributeSet(new Attribute("plural", random.nextBoolean() ? "pods" : "configmaps"),
        new Attribute("namespace", "ns" + random.nextInt(3)), new Attribute("name", "n" + random.nextInt(20)),
        new Attribute("labels:phase", "p" + random.nextInt(3)));
  }

  private static AttributeSet query(Random random) {
    List<Attribute> attributes = new ArrayList<>(List.of(new Attribute("name", "n" + random.nextInt(20))));
    if (random.nextBoolean()) {
      attributes.add(new Attribute("plural", random.nextBoolean() ? "pods" : "configmaps"));
    }
    if (random.nextBoolean()) {
      attributes.add(new Attribute("namespace", "ns" + random.nextInt(3)));
    }
    if (random.nextBoolean()) {
      attributes.add(new Attribute("labels:phase", "p" + random.nextInt(3)));
    }
    return new AttributeSet(attributes);
  }
}
