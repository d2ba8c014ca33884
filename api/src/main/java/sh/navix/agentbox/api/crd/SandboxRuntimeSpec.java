package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** One runtime (process with a port) inside a sandbox, e.g. e2b or swerex. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SandboxRuntimeSpec {
  /** Runtime name, e.g. "e2b", "swerex". */
  @io.fabric8.generator.annotation.Required
  @JsonProperty("name")
  private String name;

  /** Port the runtime listens on. */
  @JsonProperty("port")
  private Integer port;

  /** UDP, TCP or SCTP; defaults to TCP. */
  @io.fabric8.generator.annotation.Default("TCP")
  @JsonProperty("protocol")
  private String protocol;

  /** Human-readable description. */
  @JsonProperty("description")
  private String description;

  /** Path of the runtime's log file inside the container. */
  @JsonProperty("logDir")
  private String logDir;

  /** Readiness check of the runtime. */
  @JsonProperty("readinessProbe")
  private io.fabric8.kubernetes.api.model.Probe readinessProbe;

  /** Runtime-specific configuration, schemaless. */
  @io.fabric8.crd.generator.annotation.PreserveUnknownFields
  @io.fabric8.crd.generator.annotation.SchemaFrom(type = SchemalessObject.class)
  @JsonProperty("config")
  private Map<String, Object> config;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Integer getPort() {
    return port;
  }

  public void setPort(Integer port) {
    this.port = port;
  }

  public String getProtocol() {
    return protocol;
  }

  public void setProtocol(String protocol) {
    this.protocol = protocol;
  }

  public String getDescription() {
    return description;
  }

  public void setDescription(String description) {
    this.description = description;
  }

  public String getLogDir() {
    return logDir;
  }

  public void setLogDir(String logDir) {
    this.logDir = logDir;
  }

  public io.fabric8.kubernetes.api.model.Probe getReadinessProbe() {
    return readinessProbe;
  }

  public void setReadinessProbe(io.fabric8.kubernetes.api.model.Probe readinessProbe) {
    this.readinessProbe = readinessProbe;
  }

  public Map<String, Object> getConfig() {
    return config;
  }

  public void setConfig(Map<String, Object> config) {
    this.config = config;
  }
}
