package sh.navix.agentbox.api.lifecycle;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import java.util.Locale;

/**
 * Whether a container runs the image its spec names. The kubelet reports the image as the
 * container runtime resolved it, which is not always the spec's text: containerd reports
 * {@code python:3.12} as {@code docker.io/library/python:3.12}, a digest-pinned image by a tag or
 * by its repository digest in {@code imageID}. References are compared in the normal form Docker
 * gives them (registry {@code docker.io}, {@code library/} for its single-name images, tag
 * {@code latest} when none is given).
 */
public final class ImageRefs {
  private ImageRefs() {}

  /** The container reports {@code specImage}, however the runtime spelled it. */
  public static boolean runs(ContainerStatus s, String specImage) {
    if (specImage == null || s == null) {
      return false;
    }
    if (specImage.equals(s.getImage())) {
      return true;
    }
    String spec = normalize(specImage);
    if (s.getImage() != null && spec.equals(normalize(s.getImage()))) {
      return true;
    }
    // Pinned by digest: the runtime may report a tag, but imageID carries the digest it pulled.
    int at = spec.indexOf('@');
    if (at > 0 && s.getImageID() != null) {
      String digest = spec.substring(at);
      String id = s.getImageID();
      int scheme = id.indexOf("://");
      id = scheme >= 0 ? id.substring(scheme + 3) : id;
      return id.endsWith(digest) && repository(normalize(id)).equals(repository(spec));
    }
    return false;
  }

  /** The reference in Docker's normal form: {@code registry/path:tag} or {@code registry/path@digest}. */
  static String normalize(String ref) {
    String r = ref.trim();
    String digest = "";
    int at = r.indexOf('@');
    if (at >= 0) {
      digest = r.substring(at);
      r = r.substring(0, at);
    }
    String tag = "";
    int colon = r.lastIndexOf(':');
    if (colon > r.lastIndexOf('/')) {
      tag = r.substring(colon);
      r = r.substring(0, colon);
    }
    int slash = r.indexOf('/');
    String first = slash < 0 ? "" : r.substring(0, slash);
    boolean hasRegistry = slash >= 0 && (first.contains(".") || first.contains(":") || first.equals("localhost"));
    String registry;
    String path;
    if (hasRegistry) {
      registry = first.equals("index.docker.io") ? "docker.io" : first;
      path = r.substring(slash + 1);
    } else {
      registry = "docker.io";
      path = r;
    }
    if (registry.equals("docker.io") && !path.contains("/")) {
      path = "library/" + path;
    }
    if (tag.isEmpty() && digest.isEmpty()) {
      tag = ":latest";
    }
    return registry.toLowerCase(Locale.ROOT) + "/" + path + tag + digest;
  }

  private static String repository(String normalized) {
    int at = normalized.indexOf('@');
    String r = at >= 0 ? normalized.substring(0, at) : normalized;
    int colon = r.lastIndexOf(':');
    return colon > r.lastIndexOf('/') ? r.substring(0, colon) : r;
  }
}
