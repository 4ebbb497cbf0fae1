package sluice.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.WindowAssigner;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Reference oracle for Sluice's window conformance test: runs each case read from stdin (one JSON
 * object per line) as its own Flink job with parallelism 1, and prints what Flink's window operator
 * emitted, one JSON object per line:
 *
 * <pre>
 * {"case":id,"key":k,"start":s,"end":e,"revision":r,"count":c,"sum":x}   one per window firing
 * {"case":id,"late":{"k":..,"t":..,"v":..}}                             one per late event
 * {"case":id,"done":true}                                               after each case
 * {"case":id,"error":"..."}                                             when the job failed
 * </pre>
 *
 * Firings are printed in the order the window operator emitted them; late events come from the side
 * output, so how they interleave with firings is not meaningful. Each case runs as its own job on
 * one MiniCluster shared by all cases (start-up is paid once). Values v are whole numbers.
 *
 * <p>Watermarks are punctuated: after every event, max timestamp − ooo − 1, exactly what
 * BoundedOutOfOrdernessWatermarks computes, but emitted per event instead of periodically, so the
 * result does not depend on wall-clock time. The bounded source ends with Flink's MAX watermark.
 * Only results go to stdout; everything else (System.out included) is sent to stderr.
 */
public final class FlinkOracle {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the jobs' sink collected; the MiniCluster runs in this JVM, with this class loader. */
  static final ConcurrentLinkedQueue<String> COLLECTED = new ConcurrentLinkedQueue<>();

  private FlinkOracle() {}

  /** One input event; a Flink POJO. */
  public static final class Ev {
    public String k;
    public long t;
    public long v;

    public Ev() {}

    public Ev(String k, long t, long v) {
      this.k = k;
      this.t = t;
      this.v = v;
    }
  }

  /** BoundedOutOfOrdernessWatermarks' formula, emitted after every event. */
  static final class PunctuatedBoundedOutOfOrderness implements WatermarkGenerator<Ev> {
    private final long outOfOrderness;
    private long maxTimestamp;

    PunctuatedBoundedOutOfOrderness(long outOfOrderness) {
      this.outOfOrderness = outOfOrderness;
      this.maxTimestamp = Long.MIN_VALUE + outOfOrderness + 1;
    }

    @Override
    public void onEvent(Ev event, long eventTimestamp, WatermarkOutput output) {
      maxTimestamp = Math.max(maxTimestamp, eventTimestamp);
      output.emitWatermark(new Watermark(maxTimestamp - outOfOrderness - 1));
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
      // punctuated only: nothing depends on the wall clock
    }
  }

  /** Count and sum of v, plus how often this key's window with these bounds fired before. */
  static final class CountSum extends ProcessWindowFunction<Ev, String, String, TimeWindow> {
    private static final long serialVersionUID = 1L;
    private final String caseJson;
    private transient MapStateDescriptor<String, Integer> firings;

    CountSum(String caseJson) {
      this.caseJson = caseJson;
    }

    @Override
    public void open(org.apache.flink.api.common.functions.OpenContext openContext) {
      firings = new MapStateDescriptor<>("firings", Types.STRING, Types.INT);
    }

    @Override
    public void process(String key, Context ctx, Iterable<Ev> elements, Collector<String> out) throws Exception {
      long count = 0;
      long sum = 0;
      for (Ev e : elements) {
        count++;
        sum += e.v;
      }
      TimeWindow w = ctx.window();
      // windowState() is unsupported for merging (session) windows; per-key global state is not
      MapState<String, Integer> state = ctx.globalState().getMapState(firings);
      String bounds = w.getStart() + ":" + w.getEnd();
      Integer before = state.get(bounds);
      int revision = before == null ? 0 : before;
      state.put(bounds, revision + 1);
      ObjectNode o = JSON.createObjectNode();
      o.set("case", JSON.readTree(caseJson));
      o.put("key", key);
      o.put("start", w.getStart());
      o.put("end", w.getEnd());
      o.put("revision", revision);
      o.put("count", count);
      o.put("sum", sum);
      out.collect(JSON.writeValueAsString(o));
    }
  }

  static final class Collect implements SinkFunction<String> {
    private static final long serialVersionUID = 1L;

    @Override
    public void invoke(String value, Context context) {
      COLLECTED.add(value);
    }
  }

  public static void main(String[] args) throws Exception {
    PrintStream results = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    System.setOut(System.err);

    MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
        .setConfiguration(new Configuration())
        .setNumTaskManagers(1)
        .setNumSlotsPerTaskManager(1)
        .build());
    cluster.start();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    boolean failed = false;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      JsonNode c = JSON.readTree(line);
      JsonNode id = c.get("case");
      String idJson = JSON.writeValueAsString(id);
      try {
        COLLECTED.clear();
        runCase(cluster, c, idJson);
        for (String out : COLLECTED) results.println(out);
        ObjectNode done = JSON.createObjectNode();
        done.set("case", id);
        done.put("done", true);
        results.println(JSON.writeValueAsString(done));
      } catch (Exception e) {
        failed = true;
        e.printStackTrace(System.err);
        ObjectNode err = JSON.createObjectNode();
        err.set("case", id);
        err.put("error", String.valueOf(rootCause(e)));
        results.println(JSON.writeValueAsString(err));
      }
      results.flush();
    }
    results.flush();
    cluster.close();
    System.exit(failed ? 1 : 0);
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) t = t.getCause();
    return t;
  }

  private static void runCase(MiniCluster cluster, JsonNode c, String idJson) throws Exception {
    List<Ev> events = new ArrayList<>();
    for (JsonNode e : c.get("events")) events.add(new Ev(e.get("k").asText(), e.get("t").asLong(), e.get("v").asLong()));
    // no events, no windows; Flink's fromData fails on an empty collection, so there is no job to run
    if (events.isEmpty()) return;
    long ooo = c.get("ooo").asLong();
    long lateness = c.get("lateness").asLong();

    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
    env.setParallelism(1);
    env.getConfig().setAutoWatermarkInterval(0);

    WatermarkStrategy<Ev> watermarks = WatermarkStrategy.<Ev>forGenerator(ctx -> new PunctuatedBoundedOutOfOrderness(ooo))
        .withTimestampAssigner((e, previous) -> e.t);
    OutputTag<Ev> lateTag = new OutputTag<>("late", TypeInformation.of(Ev.class));

    DataStream<Ev> input = env.fromData(events, TypeInformation.of(Ev.class)).assignTimestampsAndWatermarks(watermarks);
    SingleOutputStreamOperator<String> fired = input
        .keyBy((KeySelector<Ev, String>) e -> e.k, Types.STRING)
        .window(assigner(c.get("window")))
        .allowedLateness(Duration.ofMillis(lateness))
        .sideOutputLateData(lateTag)
        .process(new CountSum(idJson), Types.STRING);
    DataStream<String> late = fired.getSideOutput(lateTag).map(e -> {
      ObjectNode o = JSON.createObjectNode();
      o.set("case", JSON.readTree(idJson));
      ObjectNode ev = o.putObject("late");
      ev.put("k", e.k);
      ev.put("t", e.t);
      ev.put("v", e.v);
      return JSON.writeValueAsString(o);
    }, Types.STRING);
    fired.union(late).addSink(new Collect());
    StreamGraph graph = env.getStreamGraph();
    graph.setJobName("oracle case " + idJson);
    cluster.executeJobBlocking(graph.getJobGraph());
  }

  private static WindowAssigner<Object, TimeWindow> assigner(JsonNode w) {
    String kind = w.get("kind").asText();
    switch (kind) {
      case "tumbling":
        return TumblingEventTimeWindows.of(Duration.ofMillis(w.get("size").asLong()));
      case "sliding":
        return SlidingEventTimeWindows.of(Duration.ofMillis(w.get("size").asLong()), Duration.ofMillis(w.get("slide").asLong()));
      case "session":
        return EventTimeSessionWindows.withGap(Duration.ofMillis(w.get("gap").asLong()));
      default:
        throw new IllegalArgumentException("unknown window kind " + kind);
    }
  }
}
