package sh.navix.agentbox.api.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImageRefsTest {
  /** What a pod spec names, what the kubelet may report for it (containerd resolves short names). */
  @ParameterizedTest
  @CsvSource({
    "python:3.12, docker.io/library/python:3.12",
    "python, docker.io/library/python:latest",
    "library/python:3.12, docker.io/library/python:3.12",
    "example/sandbox:2, docker.io/example/sandbox:2",
    "index.docker.io/example/sandbox:2, docker.io/example/sandbox:2",
    "ghcr.io/org/img:1, ghcr.io/org/img:1",
    "localhost:5000/img:1, localhost:5000/img:1",
    "registry.local/team/img, registry.local/team/img:latest",
  })
  void aResolvedNameIsTheSameImage(String spec, String reported) {
    assertThat(ImageRefs.runs(status(reported, null), spec)).isTrue();
  }

  @ParameterizedTest
  @CsvSource({
    "python:3.12, docker.io/library/python:3.11",
    "example/sandbox:2, docker.io/example/sandbox:1",
    "ghcr.io/org/img:1, docker.io/org/img:1",
    "example/idle:1, example/sandbox:2",
    "localhost:5000/img:1, localhost:5001/img:1",
  })
  void anotherImageIsNot(String spec, String reported) {
    assertThat(ImageRefs.runs(status(reported, null), spec)).isFalse();
  }

  @org.junit.jupiter.api.Test
  void aDigestPinnedImageMatchesByTheDigestItPulled() {
    String digest = "sha256:" + "a".repeat(64);
    String other = "sha256:" + "b".repeat(64);
    assertThat(ImageRefs.runs(status("docker.io/library/python:3.12", "docker.io/library/python@" + digest), "python@" + digest)).isTrue();
    assertThat(ImageRefs.runs(status("docker.io/library/python:3.12", "docker-pullable://python@" + digest), "python@" + digest)).isTrue();
    assertThat(ImageRefs.runs(status("docker.io/library/python:3.12", "docker.io/library/python@" + other), "python@" + digest)).isFalse();
    assertThat(ImageRefs.runs(status("docker.io/library/ruby:3", "docker.io/library/ruby@" + digest), "python@" + digest)).isFalse();
  }

  private static ContainerStatus status(String image, String imageId) {
    return new ContainerStatusBuilder().withName("c").withImage(image).withImageID(imageId).build();
  }
}
