package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonInclude;

/** Where to reach one runtime of a sandbox (through the gateway), and where its log lives. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SandboxEndpoint(String url, String logDir) {}
