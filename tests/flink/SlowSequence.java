/*
 * A plain Flink batch job for tests/test_flink.py: numbers 1..N through a map that takes
 * SLEEP_MS each, at the cluster's default parallelism. It runs long enough to lose a
 * TaskManager in the middle, and finishes only if the cluster restarts the lost tasks.
 *
 *   flink run -d -c SlowSequence slow-sequence.jar N SLEEP_MS
 */

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;

public class SlowSequence {
  public static void main(String[] args) throws Exception {
    long count = Long.parseLong(args[0]);
    long sleepMs = Long.parseLong(args[1]);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setRuntimeMode(RuntimeExecutionMode.BATCH);
    env.fromSequence(1, count)
        .map(x -> {
          Thread.sleep(sleepMs);
          return x;
        })
        .returns(Types.LONG)
        .addSink(new DiscardingSink<>());
    env.execute("slow-sequence");
  }
}
