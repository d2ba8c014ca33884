package sh.navix.agentbox.api.lifecycle;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Compare-and-swap pod updates that hold no thread while the API server answers: the PUT (same
 * request as the client's {@code resource(pod).update()}: the whole object with the
 * resourceVersion it was derived from) goes out on the Kubernetes client's own event loop, and
 * the result or the error comes back on the caller's Vert.x context. Claims use it so that a
 * burst of them is not capped by, and does not starve, the worker pool that other blocking work
 * shares. Errors are {@link KubernetesClientException}s with the HTTP code, as the blocking call
 * throws them, so {@link KubeErrors} reads both alike. Reads of a pod ({@link #get}) go the same
 * way, for writers whose cache has fallen behind.
 */
public final class PodUpdates {
  private PodUpdates() {}

  public static Future<Pod> update(Vertx vertx, KubernetesClient client, Pod pod) {
    KubernetesSerialization json = client.getKubernetesSerialization();
    return send(vertx, client, "update", pod.getMetadata().getNamespace(), pod.getMetadata().getName(),
        b -> b.put("application/json", json.asJson(pod)), false, response -> decode(json, response, pod));
  }

  /**
   * The pod as the API server has it now (empty when there is none), read the same way: for a
   * writer whose cache has fallen behind, without taking a worker thread during the very burst that
   * left it behind.
   */
  public static Future<Optional<Pod>> get(Vertx vertx, KubernetesClient client, String namespace, String name) {
    KubernetesSerialization json = client.getKubernetesSerialization();
    return send(vertx, client, "read", namespace, name, b -> b, true, response -> {
      if (response.code() == 404) {
        return Optional.empty();
      }
      try {
        return Optional.of(json.unmarshal(response.body(), Pod.class));
      } catch (RuntimeException e) {
        return new KubernetesClientException("unreadable pod in the API server's answer: " + e.getMessage(), e);
      }
    });
  }

  /**
   * One request about pod {@code namespace/name} on the client's own event loop; {@code answered}
   * turns a successful answer (and a 404 when {@code missingIsAnAnswer}) into the result, or into a
   * Throwable to fail with; any other answer fails with the API server's Status. The outcome comes
   * back on the caller's Vert.x context.
   */
  @SuppressWarnings("unchecked")
  private static <T> Future<T> send(Vertx vertx, KubernetesClient client, String verb, String namespace, String name,
      UnaryOperator<HttpRequest.Builder> method, boolean missingIsAnAnswer, Function<HttpResponse<String>, Object> answered) {
    Context context = vertx.getOrCreateContext();
    try {
      HttpClient http = client.getHttpClient();
      HttpRequest request = method.apply(http.newHttpRequestBuilder()
          .uri(podUrl(client.getMasterUrl().toString(), namespace, name))
          .timeout(client.getConfiguration().getRequestTimeout(), TimeUnit.MILLISECONDS))
          .build();
      Promise<T> result = Promise.promise();
      http.sendAsync(request, String.class).whenComplete((response, failure) -> {
        Object outcome;
        if (failure != null) {
          outcome = new KubernetesClientException(verb + " of pod " + namespace + "/" + name + " failed: " + failure.getMessage(), failure);
        } else if (response.isSuccessful() || missingIsAnAnswer && response.code() == 404) {
          outcome = answered.apply(response);
        } else {
          outcome = error(client.getKubernetesSerialization(), response, verb, namespace, name);
        }
        context.runOnContext(v -> {
          if (outcome instanceof Throwable t) {
            result.fail(t);
          } else {
            result.complete((T) outcome);
          }
        });
      });
      return result.future();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * The pod's URL under the API server's: what fabric8's {@code URLUtils.join} gives for these
   * parts, without its regular expressions, which were 6 % of the gateway's CPU under a burst of
   * claims. Namespaces and pod names are DNS labels and subdomains: nothing in them to escape.
   */
  static String podUrl(String masterUrl, String namespace, String name) {
    String base = masterUrl.endsWith("/") ? masterUrl.substring(0, masterUrl.length() - 1) : masterUrl;
    return base + "/api/v1/namespaces/" + namespace + "/pods/" + name;
  }

  /**
   * The pod in a successful answer. An update that took the last finalizer off a pod being
   * deleted lets the API server remove the pod, and the dev cluster's then answers without it: the
   * update was applied, and the pod as sent stands for it. Any other answer without a pod is an
   * error.
   */
  private static Object decode(KubernetesSerialization json, HttpResponse<String> response, Pod sent) {
    String body = response.body();
    Pod p;
    try {
      p = body == null || body.isBlank() ? null : json.unmarshal(body, Pod.class);
    } catch (RuntimeException e) {
      return new KubernetesClientException("unreadable pod in the API server's answer: " + e.getMessage(), e);
    }
    if (p != null) {
      return p;
    }
    boolean finalized = Pods.deleting(sent) && (sent.getMetadata().getFinalizers() == null || sent.getMetadata().getFinalizers().isEmpty());
    return finalized ? sent : new KubernetesClientException("the API server answered the update of pod " + sent.getMetadata().getNamespace()
        + "/" + sent.getMetadata().getName() + " with " + response.code() + " but no pod");
  }

  /** The API server's Status (reason, message) when it sent one, else one made from the code. */
  static KubernetesClientException error(KubernetesSerialization json, HttpResponse<String> response, String verb, String namespace,
      String name) {
    Status status = null;
    String body = response.body();
    if (body != null && body.startsWith("{")) {
      try {
        status = json.unmarshal(body, Status.class);
      } catch (RuntimeException ignored) {
        // not a Status: fall back to the code alone
      }
    }
    if (status == null || status.getCode() == null) {
      status = new StatusBuilder().withCode(response.code()).withMessage(body == null || body.isBlank() ? response.message() : body).build();
    }
    return new KubernetesClientException(verb + " of pod " + namespace + "/" + name + " answered " + response.code() + ": "
        + status.getMessage(), response.code(), status);
  }
}
