// The engine driven by hand in tests (test-only): a FakeClock moved by hand, and a Harness
// that decodes a workflow, makes its Operator and plays the runner, answering StartStep
// actions with what a Script says and KillStep with exit 143. No processes, no I/O.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/operator.h"
#include "spec/decode.h"

namespace skiff::engine {

class FakeClock : public Clock {
 public:
  int64_t now_ms() const override { return now; }
  int64_t now = 1'700'000'000'000;
};

// A step's exit, given its resolved template (it may move the clock).
using Script = std::function<StepExit(const StartStep&)>;

inline StepExit ok(const StartStep& s, std::string out = "") {
  StepExit e;
  e.node_id = s.node_id;
  e.stdout_text = std::move(out);
  return e;
}

struct Harness {
  spec::Decoded decoded;
  spec::Library lib;
  FakeClock clock;
  std::unique_ptr<Operator> op;
  std::vector<std::string> started;  // node names in start order
  std::deque<StartStep> running;  // a deque: a loop of 100,000 steps is taken from the front
  std::vector<StoreCacheEntry> stored;  // memoize cache entries the runner was asked to write

  explicit Harness(const std::string& yaml, RunOptions options = {}) {
    decoded = spec::decode_documents(yaml, "t.yaml");
    EXPECT_TRUE(decoded.diagnostics.empty()) << format_all(decoded.diagnostics);
    for (const auto& o : decoded.objects)
      if (o.kind == spec::Kind::kWorkflowTemplate) lib.workflow_templates.push_back(&o);
    auto r = Operator::create(decoded.objects[0], lib, options, clock);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    op = std::move(*r);
  }

  // Runs until done: every started step exits as `script` says, one loop turn at a time.
  void run(const Script& script, int max_turns = 1000000) {
    op->start();
    drive(script, max_turns);
  }

  // Goes on until done or until nothing can happen without outside help (a resume).
  void drive(const Script& script, int max_turns = 1000000) {
    for (int turn = 0; turn < max_turns && !op->done(); ++turn) {
      for (auto& a : op->take_actions()) {
        if (auto* s = std::get_if<StartStep>(&a)) {
          started.push_back(op->node(s->node_id)->name);
          op->step_started(s->node_id);
          running.push_back(std::move(*s));
        } else if (auto* c = std::get_if<StoreCacheEntry>(&a)) {
          stored.push_back(std::move(*c));
        } else if (auto* k = std::get_if<KillStep>(&a)) {
          for (auto it = running.begin(); it != running.end(); ++it)
            if (it->node_id == k->node_id) {
              StepExit e = ok(*it);
              e.exit_code = 143;
              running.erase(it);
              op->step_exited(e);
              break;
            }
        }
      }
      if (!running.empty()) {
        StartStep s = std::move(running.front());
        running.pop_front();
        op->step_exited(script(s));
      } else if (op->next_wakeup_ms() >= 0) {
        clock.now = std::max(clock.now, op->next_wakeup_ms());
        op->tick();
      } else if (op->take_actions().empty() && !op->done()) {
        break;
      }
    }
    // What the last turn asked for once the workflow is done: cache entries to store.
    for (auto& a : op->take_actions())
      if (auto* c = std::get_if<StoreCacheEntry>(&a)) stored.push_back(std::move(*c));
  }

  const Node& node(const std::string& name) const {
    for (const auto& n : op->status().nodes)
      if (n.name == name) return n;
    ADD_FAILURE() << "no node " << name;
    static Node none;
    return none;
  }
  bool has(const std::string& name) const {
    for (const auto& n : op->status().nodes)
      if (n.name == name) return true;
    return false;
  }
};

}  // namespace skiff::engine
