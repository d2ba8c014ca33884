package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Marker type for schemaless fields: the CRD declares them as objects that preserve unknown fields. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SchemalessObject {

}
