package sh.navix.agentbox.api.crd;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A cluster-scoped, reusable sandbox definition (pod template, idle image, runtimes) that pools copy at creation. */
@Group(CrdNames.GROUP)
@Version(CrdNames.VERSION)
@Plural("sandboxtemplates")
@ShortNames("sbt")
public class SandboxTemplate extends CustomResource<SandboxTemplateSpec, SandboxTemplateStatus> {}
