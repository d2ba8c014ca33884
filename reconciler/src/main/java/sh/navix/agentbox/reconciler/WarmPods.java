package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import sh.navix.agentbox.api.crd.CrdNames;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.PodCreationImagePolicy;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;

/** Builds the pods of a warm pool from the pool's embedded template: a pure function, no API calls. */
public final class WarmPods {
  private WarmPods() {}

  private static final String ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A fresh {@code <pool>-<5 random chars>} name, in the style of generateName. */
  public static String newPodName(String poolName) {
    StringBuilder b = new StringBuilder(poolName).append('-');
    for (int i = 0; i < 5; i++) {
      b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return b.toString();
  }

  /**
   * A new idle pod for {@code pool}: the template's pod spec, the pool/phase/managed-by labels, an
   * owner reference to the pool, the sandbox-protection finalizer, and the first container's image
   * chosen by the pool's podCreationImagePolicy.
   */
  public static Pod newIdlePod(SandboxPool pool, String podName) {
    PodTemplateSpec template = pool.getSpec().getTemplate();
    if (template == null || template.getSpec() == null || template.getSpec().getContainers() == null
        || template.getSpec().getContainers().isEmpty()) {
      throw new IllegalArgumentException("pool " + pool.getMetadata().getName() + " has no containers in spec.template");
    }
    // Deep copy: the pool object comes from an informer cache and must not be mutated.
    PodSpec spec = Serialization.clone(template.getSpec());
    ObjectMeta tm = template.getMetadata();
    Map<String, String> labels = new HashMap<>(tm == null || tm.getLabels() == null ? Map.of() : tm.getLabels());
    labels.put(Labels.SANDBOX_POOL, pool.getMetadata().getName());
    labels.put(Labels.SANDBOX_PHASE, SandboxPhase.IDLE.wire());
    labels.put(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER);
    Map<String, String> annotations = new HashMap<>(tm == null || tm.getAnnotations() == null ? Map.of() : tm.getAnnotations());

    Container first = spec.getContainers().get(0);
    if (creationImagePolicy(pool) == PodCreationImagePolicy.IdleImage) {
      first.setImage(idleImage(pool));
    }
    return new PodBuilder()
        .withNewMetadata()
        .withName(podName)
        .withNamespace(pool.getMetadata().getNamespace())
        .withLabels(labels)
        .withAnnotations(annotations)
        .withFinalizers(List.of(Finalizers.SANDBOX_PROTECTION))
        .withOwnerReferences(
            new OwnerReferenceBuilder()
                .withApiVersion(CrdNames.API_VERSION)
                .withKind("SandboxPool")
                .withName(pool.getMetadata().getName())
                .withUid(pool.getMetadata().getUid())
                .withController(true)
                .withBlockOwnerDeletion(true)
                .build())
        .endMetadata()
        .withSpec(spec)
        .build();
  }

  /** The pool's idle image: spec.idleImage, else the template's first container image. */
  public static String idleImage(SandboxPool pool) {
    String idle = pool.getSpec().getIdleImage();
    if (idle != null && !idle.isBlank()) {
      return idle;
    }
    return pool.getSpec().getTemplate().getSpec().getContainers().get(0).getImage();
  }

  /** Container name → image in the pool's template: what each container of a warm pod runs (the first aside, see {@link #idleImage}). */
  public static Map<String, String> templateImages(SandboxPool pool) {
    Map<String, String> images = new HashMap<>();
    for (io.fabric8.kubernetes.api.model.Container c : pool.getSpec().getTemplate().getSpec().getContainers()) {
      if (c.getName() != null && c.getImage() != null) {
        images.put(c.getName(), c.getImage());
      }
    }
    return images;
  }

  private static PodCreationImagePolicy creationImagePolicy(SandboxPool pool) {
    PodCreationImagePolicy p = pool.getSpec().getPodCreationImagePolicy();
    return p == null ? PodCreationImagePolicy.IdleImage : p;
  }
}
