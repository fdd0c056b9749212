// What `skiff run` shows while a workflow runs and after it ends.
//
// LiveView is an engine::Observer (the Runner's Watch in `skiff run`): on a terminal it
// redraws the node tree in place as `argo watch` does (at most ten times a second);
// elsewhere it prints one line per phase change. render_summary() renders the final
// `argo get`-like view. Single-threaded: called from the Runner's thread only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "engine/operator.h"

namespace skiff::cli {

class LiveView : public engine::Observer {
 public:
  LiveView(const engine::Operator& op, const engine::Clock& clock, bool terminal, std::FILE* out);
  void node_changed(const engine::Node& node) override;
  void workflow_changed(const engine::WorkflowStatus& status) override;
  void finish();  // last redraw on a terminal

 private:
  void redraw(bool force);

  const engine::Operator& op_;
  const engine::Clock& clock_;
  bool terminal_;
  std::FILE* out_;
  std::unordered_map<std::string, engine::NodePhase> printed_;
  int64_t last_draw_ms_ = 0;
  int drawn_lines_ = 0;
};

struct SummaryOptions {
  bool wide = false;  // add pod names
  int max_nodes = 0;  // 0: every node
};

// The `argo get`-like summary: name, status, message, duration, progress, parameters and
// the node tree with phase symbols, durations and messages.
std::string render_summary(const engine::Operator& op, const engine::Clock& clock,
                           const SummaryOptions& options);

}  // namespace skiff::cli
