package sh.navix.agentbox.api.crd;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A warm pool: {@code spec.replicas} pods kept on the idle image, claimed one per sandbox and recycled in place. */
@Group(CrdNames.GROUP)
@Version(CrdNames.VERSION)
@Plural("sandboxpools")
@ShortNames("sbp")
@AdditionalPrinterColumn(name = "Phase", type = Type.STRING, jsonPath = ".status.phase", getDescription = "Overall pool phase")
@AdditionalPrinterColumn(name = "Replicas", type = Type.INTEGER, jsonPath = ".spec.replicas", getDescription = "Total desired replicas")
@AdditionalPrinterColumn(name = "Idle", type = Type.INTEGER, jsonPath = ".status.idleReplicas", getDescription = "Number of idle sandboxes")
@AdditionalPrinterColumn(name = "Unavail", type = Type.INTEGER, jsonPath = ".status.unavailableIdleReplicas", getDescription = "Unavailable idle sandboxes (NotReady)")
@AdditionalPrinterColumn(name = "Running", type = Type.INTEGER, jsonPath = ".status.runningReplicas", getDescription = "Number of running sandboxes")
@AdditionalPrinterColumn(name = "Starting", type = Type.INTEGER, jsonPath = ".status.startingReplicas", getDescription = "Number of starting sandboxes")
@AdditionalPrinterColumn(name = "Stopping", type = Type.INTEGER, jsonPath = ".status.stoppingReplicas", getDescription = "Number of stopping sandboxes")
@AdditionalPrinterColumn(name = "Failed", type = Type.INTEGER, jsonPath = ".status.failedReplicas", getDescription = "Number of failed sandboxes")
@AdditionalPrinterColumn(name = "Age", type = Type.DATE, jsonPath = ".metadata.creationTimestamp", getDescription = "Age of the resource")
public class SandboxPool extends CustomResource<SandboxPoolSpec, SandboxPoolStatus> implements Namespaced {}
