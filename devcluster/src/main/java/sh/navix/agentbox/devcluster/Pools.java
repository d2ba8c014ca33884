package sh.navix.agentbox.devcluster;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolSpec;

/** For tests and benchmarks: SandboxPools with an inline template. */
public final class Pools {
  private Pools() {}

  /**
   * A pool of {@code replicas} pods in namespace default: idle image {@code example/idle:1}, one
   * container {@code sandbox} on {@code example/sandbox:1} without ports (the simulated node runs
   * no HTTP server for it).
   */
  public static SandboxPool inline(String name, int replicas) {
    SandboxPool pool = new SandboxPool();
    pool.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    SandboxPoolSpec spec = new SandboxPoolSpec();
    spec.setReplicas(replicas);
    spec.setIdleImage("example/idle:1");
    spec.setTemplate(new PodTemplateSpecBuilder().withNewSpec().addNewContainer().withName("sandbox").withImage("example/sandbox:1")
        .endContainer().endSpec().build());
    pool.setSpec(spec);
    return pool;
  }

  /** Creates {@link #inline} on the cluster. */
  public static SandboxPool create(KubernetesClient client, String name, int replicas) {
    return client.resource(inline(name, replicas)).create();
  }
}
