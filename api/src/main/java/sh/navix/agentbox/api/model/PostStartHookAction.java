package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonInclude;

/** One action run after a sandbox reaches Running; exactly one of exec or httpPost is set. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PostStartHookAction(ExecHookAction exec, HttpPostHookAction httpPost) {

  /** Whether exactly one action kind is set. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isValid() {
    return (exec == null) != (httpPost == null);
  }

  /** Runs {@code sh -c command} inside the first container. */
  public record ExecHookAction(String command) {}

  /** POSTs to a port and path inside the sandbox, routed through the gateway. */
  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  public record HttpPostHookAction(
      int port, String path, java.util.Map<String, Object> body, java.util.Map<String, String> headers) {}
}
