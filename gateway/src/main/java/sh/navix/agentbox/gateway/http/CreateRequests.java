package sh.navix.agentbox.gateway.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import sh.navix.agentbox.api.GoDuration;
import sh.navix.agentbox.api.model.ApiError;
import sh.navix.agentbox.api.model.CreateSandboxInput;
import sh.navix.agentbox.api.model.CreateSandboxRequest;
import sh.navix.agentbox.api.model.PostStartHookAction;
import tools.jackson.databind.JsonNode;

/**
 * Validates a create request and turns it into a claim input. Everything a user can get wrong is
 * answered here with a 400 naming the field, before any pod is touched.
 */
final class CreateRequests {
  private CreateRequests() {}

  /** A DNS-1123 label: pool and namespace names (pool names are also label values, so ≤ 63). */
  static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
  static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  static final Pattern LABEL_VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");
  /** An image reference without whitespace or control characters. */
  static final Pattern IMAGE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,511}");
  static final Pattern SANDBOX_ID = Pattern.compile("[a-z0-9]{1,63}");
  static final List<String> RESERVED_PREFIXES = List.of("agentbox.navix.sh/", "scheduling.navix.sh/", "kubernetes.io/", "k8s.io/", "agentbox.io/");
  static final Duration MAX_STARTUP_TIMEOUT = Duration.ofHours(1);
  static final Duration MAX_IDLE_TIMEOUT = Duration.ofDays(30);
  static final int MAX_METADATA_ENTRIES = 64;
  static final int MAX_METADATA_BYTES = 16 * 1024;
  static final int MAX_HOOKS = 16;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

  /** The validated input plus how long to wait in the queue and whether to wait for Running. */
  record Validated(CreateSandboxInput input, Duration waitBudget, boolean waitForRunning) {}

  static Validated validate(CreateSandboxRequest r, String defaultNamespace, Duration defaultWait, Duration maxWait) {
    if (r == null) {
      throw ApiError.badRequest("the request body must be a JSON object");
    }
    String pool = required("poolName", r.poolName());
    name("poolName", pool);
    String ns = r.namespace() == null ? defaultNamespace : r.namespace();
    name("namespace", ns);
    if (r.image() != null) {
      image("image", r.image());
    }
    if (r.containerImages() != null) {
      r.containerImages().forEach((container, image) -> {
        if (container == null || !LABEL_NAME.matcher(container).matches()) {
          throw ApiError.badRequest("containerImages: '" + container + "' is not a container name");
        }
        image("containerImages." + container, image);
      });
    }
    labels(r.labels());
    annotations(r.annotations());
    metadata(r.metadata());
    Duration startup = duration("startupTimeout", r.startupTimeout(), MAX_STARTUP_TIMEOUT);
    Duration idle = duration("idleTimeout", r.idleTimeout(), MAX_IDLE_TIMEOUT);
    List<PostStartHookAction> hooks = r.postStartHooks();
    if (hooks != null) {
      if (hooks.size() > MAX_HOOKS) {
        throw ApiError.badRequest("postStartHooks: at most " + MAX_HOOKS + " actions");
      }
      for (int i = 0; i < hooks.size(); i++) {
        PostStartHookAction h = hooks.get(i);
        if (h == null || !h.isValid()) {
          throw ApiError.badRequest("postStartHooks[" + i + "]: set exactly one of exec or httpPost");
        }
        if (h.exec() != null && (h.exec().command() == null || h.exec().command().isBlank())) {
          throw ApiError.badRequest("postStartHooks[" + i + "].exec.command is required");
        }
        if (h.httpPost() != null && (h.httpPost().port() < 1 || h.httpPost().port() > 65535)) {
          throw ApiError.badRequest("postStartHooks[" + i + "].httpPost.port must be 1-65535");
        }
      }
    }
    Duration wait = defaultWait;
    if (r.waitTimeoutSeconds() != null) {
      if (r.waitTimeoutSeconds() < 0) {
        throw ApiError.badRequest("waitTimeoutSeconds must not be negative");
      }
      wait = Duration.ofSeconds(r.waitTimeoutSeconds());
    }
    if (wait.compareTo(maxWait) > 0) {
      wait = maxWait; // capped by configuration
    }
    CreateSandboxInput input = new CreateSandboxInput(pool, ns, r.image(), r.containerImages(), r.labels(), r.annotations(),
        r.metadata(), startup, idle, hooks, null, null);
    return new Validated(input, wait, Boolean.TRUE.equals(r.waitForRunning()));
  }

  static String required(String field, String v) {
    if (v == null || v.isBlank()) {
      throw ApiError.badRequest(field + " is required");
    }
    return v;
  }

  static void name(String field, String v) {
    if (!DNS_LABEL.matcher(v).matches()) {
      throw ApiError.badRequest(field + " '" + abbreviate(v) + "' is not a valid name: lowercase letters, digits and '-', at most 63 characters");
    }
  }

  static void image(String field, String v) {
    if (v == null || !IMAGE.matcher(v).matches()) {
      throw ApiError.badRequest(field + " '" + abbreviate(String.valueOf(v)) + "' is not a valid image reference");
    }
  }

  static void labels(Map<String, String> labels) {
    if (labels == null) {
      return;
    }
    labels.forEach((k, v) -> {
      key("labels", k);
      if (v == null || !LABEL_VALUE.matcher(v).matches()) {
        throw ApiError.badRequest("labels." + k + ": '" + abbreviate(String.valueOf(v)) + "' is not a valid label value (at most 63 letters, digits, '-', '_', '.')");
      }
    });
  }

  static void annotations(Map<String, String> annotations) {
    if (annotations == null) {
      return;
    }
    long size = 0;
    for (Map.Entry<String, String> e : annotations.entrySet()) {
      key("annotations", e.getKey());
      if (e.getValue() == null) {
        throw ApiError.badRequest("annotations." + e.getKey() + " must be a string");
      }
      size += e.getKey().length() + e.getValue().length();
    }
    if (size > 64 * 1024) {
      throw ApiError.badRequest("annotations: at most 64 KiB in total");
    }
  }

  static void metadata(Map<String, String> metadata) {
    if (metadata == null) {
      return;
    }
    if (metadata.size() > MAX_METADATA_ENTRIES) {
      throw ApiError.badRequest("metadata: at most " + MAX_METADATA_ENTRIES + " entries");
    }
    long size = 0;
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (e.getKey().isEmpty() || e.getValue() == null) {
        throw ApiError.badRequest("metadata: keys must be non-empty and values strings");
      }
      size += e.getKey().length() + e.getValue().length();
    }
    if (size > MAX_METADATA_BYTES) {
      throw ApiError.badRequest("metadata: at most " + MAX_METADATA_BYTES + " bytes in total");
    }
  }

  /** A Kubernetes qualified name that is not in a prefix the gateway owns. */
  static void key(String field, String k) {
    if (k == null || k.isEmpty()) {
      throw ApiError.badRequest(field + ": empty key");
    }
    for (String reserved : RESERVED_PREFIXES) {
      if (k.startsWith(reserved) || k.contains("." + reserved)) {
        throw ApiError.badRequest(field + "." + k + ": the prefix " + reserved + " is reserved");
      }
    }
    int slash = k.indexOf('/');
    String prefix = slash < 0 ? null : k.substring(0, slash);
    String name = slash < 0 ? k : k.substring(slash + 1);
    if ((prefix != null && (prefix.length() > 253 || !DNS_SUBDOMAIN.matcher(prefix).matches())) || !LABEL_NAME.matcher(name).matches()) {
      throw ApiError.badRequest(field + ": '" + abbreviate(k) + "' is not a valid key ([prefix/]name, name at most 63 characters)");
    }
  }

  /**
   * Seconds as a whole number, or a Go duration string; zero or absent means none. Timeouts are
   * kept on the pod in whole seconds, so a duration must be one: "500ms" would otherwise be stored
   * as 0, which reads as no timeout at all.
   */
  static Duration duration(String field, JsonNode v, Duration max) {
    if (v == null || v.isNull()) {
      return null;
    }
    Duration d;
    if (v.isIntegralNumber()) {
      if (!v.canConvertToLong() || v.asLong() < 0) {
        throw ApiError.badRequest(field + " must be a non-negative number of seconds");
      }
      d = Duration.ofSeconds(v.asLong());
    } else if (v.isString()) {
      try {
        d = GoDuration.parse(v.asString());
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw ApiError.badRequest(field + ": " + e.getMessage());
      }
      if (d.getNano() != 0) {
        throw ApiError.badRequest(field + " must be a whole number of seconds, such as \"1s\" or \"90s\" (got \"" + v.asString() + "\")");
      }
    } else {
      throw ApiError.badRequest(field + " must be a number of seconds or a duration string such as \"90s\" or \"5m\"");
    }
    if (d.compareTo(max) > 0) {
      throw ApiError.badRequest(field + " must be at most " + GoDuration.format(max));
    }
    return d.isZero() ? null : d;
  }

  /** A fresh sandbox id: 20 lowercase letters and digits (no '-': host routing splits on it). */
  static String newSandboxId() {
    char[] c = new char[20];
    for (int i = 0; i < c.length; i++) {
      c[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
    }
    return new String(c);
  }

  /** The sandbox id an Idempotency-Key stands for: the same key on the same pool gives the same id, on any replica. */
  static String idempotentSandboxId(String namespace, String pool, String key) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest((namespace + "/" + pool + "/" + key).getBytes(StandardCharsets.UTF_8));
      char[] c = new char[20];
      for (int i = 0; i < c.length; i++) {
        c[i] = ALPHABET[(h[i] & 0xff) % ALPHABET.length];
      }
      return new String(c);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static void idempotencyKey(String key) {
    if (key.length() > 200 || !key.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
      throw ApiError.badRequest("Idempotency-Key must be 1-200 visible ASCII characters");
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "…" : s;
  }
}
