// memoize (memoize.cc) driven by hand: cache hits and misses within a run and from the
// entries a runner read, maxAge against the fake clock, and what is never cached.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/test_harness.h"
#include "engine/workflow_json.h"

namespace skiff::engine {

namespace {

// Steps a, then b (continuing past a failure), both of `gen` with the given memoize block;
// `x` is gen's input (a's and b's values).
std::string two_steps(const std::string& memoize, const std::string& xa = "1", const std::string& xb = "1",
                      const std::string& between = "") {
  return R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: a, template: gen, continueOn: {failed: true}, arguments: {parameters: [{name: x, value: ")" +
         xa + R"("}]}}
)" + between + R"(        - - {name: b, template: gen, arguments: {parameters: [{name: x, value: ")" + xb + R"("}]}}
    - name: wait
      suspend: {duration: 20s}
    - name: gen
      inputs: {parameters: [{name: x}]}
      memoize: )" + memoize + R"(
      container: {image: x, command: [gen]}
      outputs:
        parameters:
          - {name: p, valueFrom: {path: /tmp/p}}
)";
}

// Each step's result and parameter p are "run-N", N counting the steps that ran.
Script counting(int* runs, int fail_on = 0) {
  return [runs, fail_on](const StartStep& s) {
    ++*runs;
    StepExit e = ok(s, "run-" + std::to_string(*runs) + "\n");
    e.output_parameters["p"] = "p-" + std::to_string(*runs);
    if (*runs == fail_on) e.exit_code = 1;
    return e;
  };
}

std::string entry(int64_t created_ms, const std::string& result) {
  nlohmann::json e = {{"nodeID", "old-node"},
                      {"outputs", {{"parameters", {{{"name", "p"}, {"value", "from-cache"}}}}, {"result", result}, {"exitCode", "0"}}},
                      {"creationTimestamp", rfc3339(created_ms)},
                      {"lastHitTimestamp", rfc3339(created_ms)}};
  return e.dump();
}

RunOptions seeded(const std::string& cache, const std::string& key, const std::string& value, bool labelled = true) {
  RunOptions o;
  o.config_maps[cache][key] = value;
  if (labelled) o.cache_config_maps.insert(cache);
  return o;
}

}  // namespace

TEST(Memoize, SecondNodeWithTheSameKeyIsAHitAndDoesNotRun) {
  Harness r(two_steps(R"({key: "k-{{inputs.parameters.x}}", cache: {configMap: {name: c}}})"));
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(r.started, std::vector<std::string>{"w[0].a"});
  const Node& a = r.node("w[0].a");
  const Node& b = r.node("w[1].b");
  ASSERT_TRUE(a.memoization && b.memoization);
  EXPECT_FALSE(a.memoization->hit);
  EXPECT_TRUE(b.memoization->hit);
  EXPECT_EQ(b.memoization->key, "k-1");
  EXPECT_EQ(b.memoization->cache_name, "c");
  EXPECT_EQ(b.phase, NodePhase::kSucceeded);
  EXPECT_EQ(b.type, NodeType::kPod);
  EXPECT_EQ(*b.outputs.result, "run-1");
  ASSERT_EQ(b.outputs.parameters.size(), 1u);
  EXPECT_EQ(b.outputs.parameters[0].second, "p-1");
  // a's entry stored, then refreshed by b's hit (lastHitTimestamp), as Argo's cache load does.
  ASSERT_EQ(r.stored.size(), 2u);
  EXPECT_EQ(r.stored[0].cache_name, "c");
  EXPECT_EQ(r.stored[0].key, "k-1");
  auto stored = nlohmann::json::parse(r.stored[0].entry_json);
  EXPECT_EQ(stored["nodeID"], a.id);
  EXPECT_EQ(stored["outputs"]["result"], "run-1");
  EXPECT_EQ(stored["outputs"]["exitCode"], "0");
  EXPECT_EQ(stored["creationTimestamp"], rfc3339(r.clock.now));
  // The JSON a user sees, as Argo shows it.
  auto shown = nlohmann::json::parse(workflow_json(r.decoded.objects[0], *r.op));
  EXPECT_EQ(shown["status"]["nodes"][b.id]["memoizationStatus"],
            nlohmann::json({{"hit", true}, {"key", "k-1"}, {"cacheName", "c"}}));
}

TEST(Memoize, DifferentKeysBothRun) {
  Harness r(two_steps(R"({key: "k-{{inputs.parameters.x}}", cache: {configMap: {name: c}}})", "1", "2"));
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 2);
  EXPECT_FALSE(r.node("w[1].b").memoization->hit);
  EXPECT_EQ(*r.node("w[1].b").outputs.result, "run-2");
  EXPECT_EQ(r.stored.size(), 2u);
}

TEST(Memoize, AFailedNodeIsNotCached) {
  Harness r(two_steps(R"({key: k, cache: {configMap: {name: c}}})"));
  int runs = 0;
  r.run(counting(&runs, /*fail_on=*/1));
  EXPECT_EQ(runs, 2);  // b found nothing: a failed
  EXPECT_EQ(r.node("w[0].a").phase, NodePhase::kFailed);
  EXPECT_FALSE(r.node("w[1].b").memoization->hit);
  ASSERT_EQ(r.stored.size(), 1u);  // b's own entry only
  EXPECT_EQ(nlohmann::json::parse(r.stored[0].entry_json)["nodeID"], r.node("w[1].b").id);
}

TEST(Memoize, AnEntryTheRunnerReadIsAHitWithinMaxAge) {
  FakeClock clock;
  RunOptions o = seeded("c", "k", entry(clock.now - 20'000, "cached"));
  Harness r(two_steps(R"({key: k, maxAge: 30s, cache: {configMap: {name: c}}})"), o);
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(*r.node("w[0].a").outputs.result, "cached");
  EXPECT_EQ(r.node("w[0].a").outputs.parameters[0].second, "from-cache");
  EXPECT_TRUE(r.node("w[1].b").memoization->hit);
}

TEST(Memoize, AnEntryOlderThanMaxAgeIsAMiss) {
  FakeClock clock;
  RunOptions o = seeded("c", "k", entry(clock.now - 20'000, "cached"));
  Harness r(two_steps(R"({key: k, maxAge: 10s, cache: {configMap: {name: c}}})"), o);
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 1);  // a ran (the entry was 20 s old), b hit a's fresh entry
  EXPECT_EQ(*r.node("w[0].a").outputs.result, "run-1");
  EXPECT_EQ(*r.node("w[1].b").outputs.result, "run-1");
}

TEST(Memoize, EntriesOfThisRunExpireAsTheClockMoves) {
  // a stores its entry; a 20 s suspend passes on the fake clock; b's maxAge is 10 s.
  Harness r(two_steps(R"({key: k, maxAge: 10s, cache: {configMap: {name: c}}})", "1", "1",
                      "        - - {name: pause, template: wait}\n"));
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 2);
  EXPECT_FALSE(r.node("w[2].b").memoization->hit);
  EXPECT_EQ(*r.node("w[2].b").outputs.result, "run-2");
}

TEST(Memoize, NoMaxAgeMeansNoLimit) {
  RunOptions o = seeded("c", "k", entry(1000, "ancient"));
  Harness r(two_steps(R"({key: k, cache: {configMap: {name: c}}})"), o);
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(*r.node("w[0].a").outputs.result, "ancient");
}

TEST(Memoize, ABadKeyIsANodeError) {
  Harness r(two_steps(R"({key: "has space {{inputs.parameters.x}}", cache: {configMap: {name: c}}})"));
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 0);
  const Node& a = r.node("w[0].a");
  EXPECT_EQ(a.phase, NodePhase::kError);
  EXPECT_NE(a.message.find("invalid cache key: \"has space 1\""), std::string::npos) << a.message;
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kError);
}

TEST(Memoize, AnOverlongKeyIsANodeErrorThatDoesNotEchoItAll) {
  Harness r(two_steps(R"({key: "{{inputs.parameters.x}}", cache: {configMap: {name: c}}})", std::string(300, 'a')));
  int runs = 0;
  r.run(counting(&runs));
  const Node& a = r.node("w[0].a");
  EXPECT_EQ(a.phase, NodePhase::kError);
  EXPECT_NE(a.message.find("(300 characters)"), std::string::npos) << a.message;
  EXPECT_LT(a.message.size(), 250u);
}

TEST(Memoize, ABadMaxAgeIsANodeError) {
  Harness r(two_steps(R"({key: k, maxAge: "10", cache: {configMap: {name: c}}})"));
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(r.node("w[0].a").phase, NodePhase::kError);
  EXPECT_NE(r.node("w[0].a").message.find("invalid maxAge"), std::string::npos);
}

TEST(Memoize, AConfigMapWithoutTheCacheLabelIsRefused) {
  RunOptions o = seeded("c", "other", "x", /*labelled=*/false);
  Harness r(two_steps(R"({key: k, cache: {configMap: {name: c}}})"), o);
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(r.node("w[0].a").phase, NodePhase::kError);
  EXPECT_NE(r.node("w[0].a").message.find("workflows.argoproj.io/configmap-type: Cache"), std::string::npos);
}

TEST(Memoize, AMalformedEntryIsANodeError) {
  RunOptions o = seeded("c", "k", "{not json");
  Harness r(two_steps(R"({key: k, cache: {configMap: {name: c}}})"), o);
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(r.node("w[0].a").phase, NodePhase::kError);
  EXPECT_NE(r.node("w[0].a").message.find("malformed cache entry"), std::string::npos);
}

TEST(Memoize, ACacheOverOneMebibyteIsANodeError) {
  RunOptions o = seeded("c", "big", std::string(1 << 20, 'x'));
  Harness r(two_steps(R"({key: k, cache: {configMap: {name: c}}})"), o);
  int runs = 0;
  r.run(counting(&runs));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(r.node("w[0].a").phase, NodePhase::kError);
  EXPECT_NE(r.node("w[0].a").message.find("1 MiB"), std::string::npos);
  EXPECT_TRUE(r.stored.empty());
}

TEST(Memoize, StepsAndDagTemplatesAreMemoizedWhole) {
  Harness r(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: inner}
          - {name: b, template: inner, dependencies: [a]}
    - name: inner
      memoize: {key: inner, cache: {configMap: {name: c}}}
      steps:
        - - {name: one, template: gen}
      outputs:
        parameters:
          - {name: out, valueFrom: {parameter: "{{steps.one.outputs.result}}"}}
    - name: gen
      container: {image: x, command: [gen]}
)");
  int runs = 0;
  r.run([&runs](const StartStep& s) { return ok(s, "run-" + std::to_string(++runs)); });
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(runs, 1);
  const Node& b = r.node("w.b");
  EXPECT_EQ(b.type, NodeType::kSteps);
  EXPECT_TRUE(b.memoization->hit);
  EXPECT_TRUE(b.children.empty());
  EXPECT_EQ(b.outputs.parameters[0].second, "run-1");
  EXPECT_FALSE(r.has("w.b[0].one"));
}

}  // namespace skiff::engine
