package sh.navix.agentbox.api.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/** Attached to a 404 for an unknown pool so the caller can pick one without another call. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AvailablePoolsDetail(List<AvailablePoolSummary> availablePools, String hint) {}
