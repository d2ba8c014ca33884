package sh.navix.agentbox.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time a process has used, from Linux's /proc: all of it, and the part its JIT compiler
 * threads used. A JVM that is still compiling spends a large share of two cores on it, so a
 * benchmark reports that share beside each figure (and waits for it to fall before measuring).
 * Clock ticks are taken as 100 a second (USER_HZ on Linux).
 */
record ProcessCpu(long totalNanos, long jitNanos) {
  static final ProcessCpu NONE = new ProcessCpu(0, 0);

  /** What {@code pid} has used so far; {@link #NONE} without a pid or off Linux. */
  static ProcessCpu of(long pid) {
    if (pid <= 0 || !Files.isDirectory(Path.of("/proc", Long.toString(pid)))) {
      return NONE;
    }
    try {
      long jit = 0;
      try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
        for (Path task : tasks) {
          try {
            // HotSpot names its compiler threads "C1 CompilerThread<n>" and "C2 CompilerThread<n>" (15 characters shown).
            String name = Files.readString(task.resolve("comm"));
            if (name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) {
              jit += ticks(task.resolve("stat"));
            }
          } catch (IOException gone) {
            // a thread that ended meanwhile (no such file, or "No such process" when it ended mid-read)
          }
        }
      }
      return new ProcessCpu(ticks(Path.of("/proc", Long.toString(pid), "stat")) * 10_000_000L, jit * 10_000_000L);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** All the CPU time {@code pid} has used so far, in nanoseconds, without the JIT's part (one file read); 0 without the process. */
  static long totalNanos(long pid) {
    try {
      return ticks(Path.of("/proc", Long.toString(pid), "stat")) * 10_000_000L;
    } catch (IOException gone) {
      return 0;
    }
  }

  /** utime + stime of a /proc stat file, in clock ticks. */
  private static long ticks(Path stat) throws IOException {
    String s = Files.readString(stat);
    String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
    // After the command name: state is field 3 of the file, utime 14 and stime 15.
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /**
   * What {@code work} returned, the JIT's share of process {@code pid}'s CPU while it ran, and the
   * CPU time that process and this one used meanwhile.
   */
  static <T> Used<T> during(long pid, java.util.concurrent.Callable<T> work) throws Exception {
    long self = ProcessHandle.current().pid();
    ProcessCpu before = of(pid);
    long selfBefore = totalNanos(self);
    T result = work.call();
    ProcessCpu used = of(pid).since(before);
    return new Used<>(result, used.jitPercent(), used.totalNanos(), totalNanos(self) - selfBefore);
  }

  /** {@code cpuNanos}: what the measured process used; {@code selfCpuNanos}: what this JVM used meanwhile. */
  record Used<T>(T result, double jitPercent, long cpuNanos, long selfCpuNanos) {}

  /** What was used between {@code earlier} and this. */
  ProcessCpu since(ProcessCpu earlier) {
    return new ProcessCpu(totalNanos - earlier.totalNanos, jitNanos - earlier.jitNanos);
  }

  /** The JIT compiler's share of the CPU used, in per cent; NaN when nothing was measured. */
  double jitPercent() {
    return totalNanos == 0 ? Double.NaN : 100.0 * jitNanos / totalNanos;
  }
}
