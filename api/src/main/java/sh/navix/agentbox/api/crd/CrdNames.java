package sh.navix.agentbox.api.crd;

/** API group, version and naming rules of the agents.navix.sh custom resources. */
public final class CrdNames {
  private CrdNames() {}

  public static final String GROUP = "agents.navix.sh";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;

  /** OwnerReference kind of a SandboxEnv. */
  public static final String SANDBOX_ENV_OWNER_KIND = "SandboxEnv";
  /** Prefix of the dockerconfigjson Secret created beside a pool or env: {@code ips-<owner>}. */
  public static final String IMAGE_PULL_SECRET_NAME_PREFIX = "ips-";

  /** Name of the pull Secret that backs an Env's image pull override. */
  public static String envImagePullSecretName(String envName) {
    return IMAGE_PULL_SECRET_NAME_PREFIX + envName;
  }
}
