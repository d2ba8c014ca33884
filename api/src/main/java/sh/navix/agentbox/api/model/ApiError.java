package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A domain error with its HTTP status. The body users see is {@code {"error", "errorCode"?,
 * "detail"?}}; the status and the cause stay server-side.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class ApiError extends RuntimeException {
  private final int status;
  private final String errorCode;
  private final Object detail;

  public ApiError(int status, String message, String errorCode, Object detail, Throwable cause) {
    super(message, cause, false, false);
    this.status = status;
    this.errorCode = errorCode;
    this.detail = detail;
  }

  public static ApiError badRequest(String msg) {
    return new ApiError(400, msg, null, null, null);
  }

  public static ApiError badRequest(String msg, Object detail) {
    return new ApiError(400, msg, null, detail, null);
  }

  public static ApiError unauthorized(String msg) {
    return new ApiError(401, msg, null, null, null);
  }

  public static ApiError forbidden(String msg) {
    return new ApiError(403, msg, null, null, null);
  }

  public static ApiError notFound(String msg) {
    return new ApiError(404, msg, null, null, null);
  }

  public static ApiError notFound(String msg, Object detail) {
    return new ApiError(404, msg, null, detail, null);
  }

  public static ApiError conflict(String msg) {
    return new ApiError(409, msg, null, null, null);
  }

  public static ApiError conflict(String msg, Object detail) {
    return new ApiError(409, msg, null, detail, null);
  }

  /** 422 telling the caller to create an API key first. */
  public static ApiError apiKeyRequired(String msg) {
    return new ApiError(422, msg, BusinessErrorCode.API_KEY_REQUIRED, null, null);
  }

  public static ApiError tooManyRequests(String msg, Throwable cause, Object detail) {
    return new ApiError(429, msg, null, detail, cause);
  }

  public static ApiError internal(String msg, Throwable cause) {
    return new ApiError(500, msg, null, null, cause);
  }

  public static ApiError serviceUnavailable(String msg) {
    return new ApiError(503, msg, null, null, null);
  }

  @JsonIgnore
  public int status() {
    return status;
  }

  /** The user-visible message. */
  public String getError() {
    return getMessage();
  }

  public String getErrorCode() {
    return errorCode;
  }

  public Object getDetail() {
    return detail;
  }

  /** The JSON body users receive. */
  public Body body() {
    return new Body(getMessage(), errorCode, detail);
  }

  /** Wire shape of an error response. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Body(String error, String errorCode, Object detail) {}
}
