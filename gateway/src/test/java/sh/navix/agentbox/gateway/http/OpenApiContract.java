package sh.navix.agentbox.gateway.http;

import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.SchemaRepository;
import io.vertx.json.schema.Validator;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The served /openapi.json as a test oracle: every response a test receives must be documented
 * for its path, method and status, and its JSON body must validate against the documented schema.
 */
final class OpenApiContract {
  static final String BASE = "https://agentbox.local/openapi.json";
  final JsonObject doc;
  private final SchemaRepository repository;
  private final JsonSchemaOptions options = new JsonSchemaOptions().setDraft(Draft.DRAFT202012).setBaseUri(BASE)
      .setOutputFormat(OutputFormat.Basic);

  OpenApiContract() throws Exception {
    try (InputStream in = OpenApiContract.class.getResourceAsStream("/openapi.json")) {
      doc = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    repository = SchemaRepository.create(options);
    repository.dereference(BASE, JsonSchema.of(doc.copy())); // dereferencing annotates the object it is given
  }

  /** The documented path template matching a concrete path, e.g. /v1/sandboxes/{id}. */
  String template(String path) {
    for (String t : doc.getJsonObject("paths").fieldNames()) {
      Pattern p = Pattern.compile("^" + t.replaceAll("\\{[^}]+}", "[^/]+") + "$");
      if (p.matcher(path).matches()) {
        return t;
      }
    }
    return null;
  }

  /** Problems with one response; empty when it matches the document. */
  List<String> check(String method, String pathAndQuery, int status, String contentType, String body) {
    List<String> problems = new ArrayList<>();
    String path = pathAndQuery.split("\\?", 2)[0];
    String t = template(path);
    if (t == null) {
      problems.add("path " + path + " is not documented");
      return problems;
    }
    JsonObject op = doc.getJsonObject("paths").getJsonObject(t).getJsonObject(method.toLowerCase(Locale.ROOT));
    if (op == null) {
      if (status != 405 && status != 404) {
        problems.add(method + " " + t + " is not documented but answered " + status);
      }
      return problems;
    }
    JsonObject response = op.getJsonObject("responses").getJsonObject(Integer.toString(status));
    if (response == null) {
      problems.add(method + " " + t + " answered " + status + ", which is not documented");
      return problems;
    }
    JsonObject content = response.getJsonObject("content");
    if (content == null) {
      if (body != null && !body.isEmpty()) {
        problems.add(method + " " + t + " " + status + " is documented without a body but has one");
      }
      return problems;
    }
    JsonObject media = content.getJsonObject("application/json");
    if (media == null) {
      return problems; // e.g. text/plain metrics: nothing to validate
    }
    if (contentType == null || !contentType.startsWith("application/json")) {
      problems.add(method + " " + t + " " + status + " answered content-type " + contentType);
      return problems;
    }
    JsonObject schema = media.getJsonObject("schema");
    Object instance = io.vertx.core.json.Json.decodeValue(body);
    Validator v = repository.validator(JsonSchema.of(resolveRefs(schema)), options);
    OutputUnit out = v.validate(instance);
    if (!Boolean.TRUE.equals(out.getValid())) {
      problems.add(method + " " + t + " " + status + " body does not match its schema: " + out.toJson().encode() + "\nbody: " + body);
    }
    return problems;
  }

  /** Points local refs (#/components/...) at the registered document. */
  private static JsonObject resolveRefs(JsonObject schema) {
    return new JsonObject(schema.encode().replace("\"#/components/", "\"" + BASE + "#/components/"));
  }
}
