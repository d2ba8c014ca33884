package sh.navix.agentbox.api.crd;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A class of sandbox runtime served by several member pools (possibly across clusters) with joint autoscaling. */
@Group(CrdNames.GROUP)
@Version(CrdNames.VERSION)
@Plural("sandboxenvs")
@ShortNames("sbe")
public class SandboxEnv extends CustomResource<SandboxEnvSpec, SandboxEnvStatus> implements Namespaced {}
