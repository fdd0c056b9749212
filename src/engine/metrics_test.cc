// Custom metrics driven by hand: a fake clock sets each step's duration, a fake runner
// answers StartStep actions, and an observer records the samples the engine emits.
#include <gtest/gtest.h>

#include <functional>

#include "engine/engine_impl.h"
#include "engine/test_harness.h"
#include "engine/operator.h"
#include "spec/decode.h"

namespace skiff::engine {

namespace {

class Recorder : public Observer {
 public:
  void node_changed(const Node&) override {}
  void workflow_changed(const WorkflowStatus&) override {}
  void metric(const MetricSample& s) override { samples.push_back(s); }
  std::vector<MetricSample> samples;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// The shared harness, recording the metric samples the engine emits.
struct MetricsHarness : Harness {
  Recorder rec;

  explicit MetricsHarness(const std::string& yaml) : Harness(yaml) { op->set_observer(&rec); }

  void run(const Script& script) {
    Harness::run(script, 10000);
    EXPECT_TRUE(op->done());
  }

  std::vector<MetricSample> named(const std::string& name) const {
    std::vector<MetricSample> out;
    for (const auto& s : rec.samples)
      if (s.name == name) out.push_back(s);
    return out;
  }
};

// Runs `command[0]` as: "fail" exits 1, anything else succeeds printing command.back();
// "sleep:N" first moves the clock N ms.
Script by_command(FakeClock& clock) {
  return [&clock](const StartStep& s) {
    const auto& cmd = s.tmpl.container->command;
    StepExit e;
    e.node_id = s.node_id;
    if (cmd[0].rfind("sleep:", 0) == 0) clock.now += std::stoll(cmd[0].substr(6));
    if (cmd.back() == "fail") e.exit_code = 1;
    e.stdout_text = cmd.back() + "\n";
    return e;
  };
}

const char* kHead =
    "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, labels: {team: ci}}\nspec:\n";

std::string wf(const std::string& body) {
  return std::string(kHead) + body;
}

// The reference pipeline's three metrics, on a step whose input says how it ends.
const char* kReferenceStep = R"(
    - name: step
      inputs: {parameters: [{name: x}, {name: ms}]}
      metrics:
        prometheus:
          - {name: exec_duration_gauge, labels: [{key: name, value: "step-{{inputs.parameters.x}}"}], help: "Duration gauge by name", gauge: {value: "{{duration}}", realtime: false}}
          - {name: result_counter, help: "Count of step execution by result status", labels: [{key: status, value: Failed}], when: "{{status}} == Failed", counter: {value: "1"}}
          - {name: result_counter, help: "Count of step execution by result status", labels: [{key: status, value: Succeeded}], when: "{{status}} == Succeeded", counter: {value: "1"}}
      container: {image: x, command: ["sleep:{{inputs.parameters.ms}}", "{{inputs.parameters.x}}"]}
)";

}  // namespace

TEST(Metrics, ReferenceMetricsOnFailingAndSucceedingSteps) {
  MetricsHarness h(wf(R"(  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: good, template: step, arguments: {parameters: [{name: x, value: ok}, {name: ms, value: "12500"}]}}
          - {name: bad, dependencies: [good], template: step, arguments: {parameters: [{name: x, value: fail}, {name: ms, value: "3000"}]}}
)" + std::string(kReferenceStep)));
  h.run(by_command(h.clock));
  EXPECT_EQ(h.op->status().phase, WorkflowPhase::kFailed);

  auto gauges = h.named("exec_duration_gauge");
  ASSERT_EQ(gauges.size(), 2u);
  EXPECT_EQ(gauges[0].type, MetricSample::Type::kGauge);
  EXPECT_EQ(gauges[0].help, "Duration gauge by name");
  EXPECT_EQ(gauges[0].labels, (Labels{{"name", "step-ok"}}));
  EXPECT_DOUBLE_EQ(gauges[0].value, 12.5);
  EXPECT_EQ(gauges[1].labels, (Labels{{"name", "step-fail"}}));
  EXPECT_DOUBLE_EQ(gauges[1].value, 3.0);

  auto counters = h.named("result_counter");
  ASSERT_EQ(counters.size(), 2u);  // one per step: only the entry whose `when` held
  EXPECT_EQ(counters[0].type, MetricSample::Type::kCounter);
  EXPECT_EQ(counters[0].labels, (Labels{{"status", "Succeeded"}}));
  EXPECT_EQ(counters[1].labels, (Labels{{"status", "Failed"}}));
  EXPECT_DOUBLE_EQ(counters[1].value, 1.0);
  EXPECT_EQ(h.rec.samples.size(), 4u);  // the DAG template declares no metrics
}

TEST(Metrics, WorkflowLevelMetricsSeeTheFinalStatus) {
  MetricsHarness h(wf(R"(  entrypoint: step
  arguments: {parameters: [{name: x, value: fail}, {name: ms, value: "2000"}]}
  metrics:
    prometheus:
      - name: wf_duration
        help: "Workflow duration"
        labels:
          - {key: status, value: "{{workflow.status}}"}
          - {key: name, value: "{{workflow.name}}"}
          - {key: team, value: "{{workflow.labels.team}}"}
        gauge: {value: "{{workflow.duration}}"}
      - {name: wf_failed, help: "Failed workflows", when: "{{status}} != Succeeded", counter: {value: "1"}}
      - {name: wf_succeeded, help: "Succeeded workflows", when: "{{workflow.status}} == Succeeded", counter: {value: "1"}}
  templates:
)" + std::string(kReferenceStep)));
  h.run(by_command(h.clock));
  auto d = h.named("wf_duration");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].labels, (Labels{{"name", "w"}, {"status", "Failed"}, {"team", "ci"}}));  // sorted by key
  EXPECT_DOUBLE_EQ(d[0].value, 2.0);
  EXPECT_EQ(h.named("wf_failed").size(), 1u);
  EXPECT_TRUE(h.named("wf_succeeded").empty());
  // The workflow's samples come after the step's.
  EXPECT_EQ(h.rec.samples.back().name, "wf_failed");
}

TEST(Metrics, HistogramFromAnOutput) {
  MetricsHarness h(wf(R"(  entrypoint: gen
  templates:
    - name: gen
      metrics:
        prometheus:
          - name: result_histogram
            help: "Generated numbers"
            labels: [{key: code, value: "{{exitCode}}"}]
            histogram: {value: "{{outputs.result}}", buckets: [10, 1, 5.5]}
      container: {image: x, command: [echo, "7"]}
)"));
  h.run(by_command(h.clock));
  ASSERT_EQ(h.rec.samples.size(), 1u);
  const MetricSample& s = h.rec.samples[0];
  EXPECT_EQ(s.type, MetricSample::Type::kHistogram);
  EXPECT_DOUBLE_EQ(s.value, 7);
  EXPECT_EQ(s.buckets, (std::vector<double>{1, 5.5, 10}));
  EXPECT_EQ(s.labels, (Labels{{"code", "0"}}));
}

TEST(Metrics, FalseWhenAndBadEntriesEmitNothing) {
  MetricsHarness h(wf(R"(  entrypoint: ok
  templates:
    - name: ok
      metrics:
        prometheus:
          - {name: failures, help: "h", when: "{{status}} == Failed", counter: {value: "1"}}
          - {name: not_a_number, help: "h", gauge: {value: "{{outputs.result}}"}}
          - {name: bad_when, help: "h", when: "{{status}} ==", counter: {value: "1"}}
          - {name: unknown_var, help: "h", labels: [{key: k, value: "{{nope}}"}], counter: {value: "1"}}
          - {name: two_types, help: "h", counter: {value: "1"}, gauge: {value: "1"}}
          - {name: no_type, help: "h"}
          - {name: no_buckets, help: "h", histogram: {value: "1"}}
          - {name: emitted, help: "h", when: "{{status}} == Succeeded", gauge: {value: " 42 "}}
      container: {image: x, command: [echo, hello]}
)"));
  h.run(by_command(h.clock));
  ASSERT_EQ(h.rec.samples.size(), 1u);
  EXPECT_EQ(h.rec.samples[0].name, "emitted");
  EXPECT_DOUBLE_EQ(h.rec.samples[0].value, 42);
}

TEST(Metrics, RetriedTemplateEmitsOnceWithRetries) {
  MetricsHarness h(wf(R"(  entrypoint: flaky
  templates:
    - name: flaky
      retryStrategy: {limit: 3}
      metrics:
        prometheus:
          - {name: runs, help: "h", labels: [{key: retries, value: "{{retries}}"}, {key: status, value: "{{status}}"}], counter: {value: "1"}}
      container: {image: x, command: [flaky]}
)"));
  int calls = 0;
  h.run([&](const StartStep& s) {
    StepExit e;
    e.node_id = s.node_id;
    e.exit_code = ++calls < 3 ? 1 : 0;
    return e;
  });
  EXPECT_EQ(h.op->status().phase, WorkflowPhase::kSucceeded);
  ASSERT_EQ(h.rec.samples.size(), 1u);
  EXPECT_EQ(h.rec.samples[0].labels, (Labels{{"retries", "2"}, {"status", "Succeeded"}}));
}

TEST(Metrics, ParseTakesNumbersAsTextAndDropsEntriesWithoutAName) {
  auto defs = detail::parse_metrics(
      R"({"prometheus":[{"name":"a","help":"h","labels":[{"key":"n","value":3}],"counter":{"value":1}},)"
      R"({"help":"no name","counter":{"value":"1"}},)"
      R"({"name":"g","help":"h","gauge":{"value":"1","operation":"Add"}}]})");
  ASSERT_EQ(defs.size(), 1u);
  EXPECT_EQ(defs[0].value, "1");
  EXPECT_EQ(defs[0].labels, (Labels{{"n", "3"}}));
  EXPECT_TRUE(detail::parse_metrics("not json").empty());
}

}  // namespace skiff::engine
