package sh.navix.agentbox.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.type.LogicalType;
import tools.jackson.databind.json.JsonMapper;

/**
 * The JSON codec for the gateway's own wire types (REST bodies, bus messages, annotations holding
 * JSON). Strict on input: unknown properties and type mismatches are errors, so bad requests are
 * rejected rather than half-understood.
 */
public final class Json {
  private Json() {}

  private static final JsonMapper MAPPER =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .changeDefaultPropertyInclusion(
              v -> v.withValueInclusion(JsonInclude.Include.NON_NULL))
          // No silent coercion: 5 is not "5", "true" is not true, 1.5 is not 1.
          .withCoercionConfig(LogicalType.Textual, c -> c
              .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
              .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
              .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
          .withCoercionConfig(LogicalType.Boolean, c -> c
              .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
              .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail))
          .withCoercionConfig(LogicalType.Integer, c -> c
              .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
              .setCoercion(CoercionInputShape.Float, CoercionAction.Fail))
          .build();

  /** The shared mapper; thread-safe. */
  public static JsonMapper mapper() {
    return MAPPER;
  }

  public static String encode(Object value) {
    return MAPPER.writeValueAsString(value);
  }

  /** Decodes {@code json}; throws {@link JacksonException} with a readable message on bad input. */
  public static <T> T decode(String json, Class<T> type) {
    return MAPPER.readValue(json, type);
  }
}
