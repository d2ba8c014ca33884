package sh.navix.agentbox.api.model;

/** Machine-readable business error codes carried in the {@code errorCode} field of errors. */
public final class BusinessErrorCode {
  private BusinessErrorCode() {}

  /** The caller has no API key and must create one first. */
  public static final String API_KEY_REQUIRED = "API_KEY_REQUIRED";
}
