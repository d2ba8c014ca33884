package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Diagnostics for a Starting or Failed sandbox, stored in the sandbox-status-detail pod annotation. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxStatusDetail {
  /** Machine-readable cause, e.g. Pulling, ImagePullBackOff, CrashLoopBackOff, OOMKilled. */
  @JsonProperty("reason")
  private String reason;

  /** Human-readable description. */
  @JsonProperty("message")
  private String message;

  /** RFC3339 time this record was written. */
  @JsonProperty("lastUpdatedTime")
  private String lastUpdatedTime;

  public String getReason() {
    return reason;
  }

  public void setReason(String reason) {
    this.reason = reason;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }

  public String getLastUpdatedTime() {
    return lastUpdatedTime;
  }

  public void setLastUpdatedTime(String lastUpdatedTime) {
    this.lastUpdatedTime = lastUpdatedTime;
  }
}
