#include "cli/view.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <unordered_set>
#include <vector>

namespace skiff::cli {

using engine::Node;
using engine::NodePhase;
using engine::NodeType;

namespace {

// Phase is never shown by colour alone: every phase has its own symbol.
const char* symbol(NodePhase p) {
  switch (p) {
    case NodePhase::kPending: return "◷";
    case NodePhase::kRunning: return "●";
    case NodePhase::kSucceeded: return "✔";
    case NodePhase::kFailed: return "✖";
    case NodePhase::kError: return "⚠";
    case NodePhase::kSkipped: return "○";
    case NodePhase::kOmitted: return "○";
  }
  return "?";
}

std::string human_duration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return fmt::format("{}ms", ms);
  int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
  return fmt::format("{}h{}m", s / 3600, (s % 3600) / 60);
}

int64_t node_duration(const Node& n, int64_t now) {
  if (n.started_at_ms == 0) return 0;
  return (n.finished_at_ms ? n.finished_at_ms : now) - n.started_at_ms;
}

struct Tree {
  std::vector<const Node*> roots;
  std::unordered_map<std::string, std::vector<const Node*>> kids;
};

// The display parent of a node is the group that lists it (StepGroup, Retry, TaskGroup),
// or else the DAG/Steps node that bounds it; the root has none.
Tree build_tree(const engine::WorkflowStatus& status) {
  Tree tree;
  std::unordered_map<std::string, std::string> parent;
  std::unordered_set<std::string> ids;
  for (const auto& n : status.nodes) ids.insert(n.id);
  for (const auto& n : status.nodes) {
    if (n.type == NodeType::kStepGroup || n.type == NodeType::kRetry || n.type == NodeType::kTaskGroup)
      for (const auto& c : n.children) parent.emplace(c, n.id);
  }
  for (const auto& n : status.nodes) {
    if (!parent.count(n.id) && !n.boundary_id.empty() && n.boundary_id != n.id) parent[n.id] = n.boundary_id;
  }
  for (const auto& n : status.nodes) {
    auto it = parent.find(n.id);
    if (it == parent.end() || !ids.count(it->second)) tree.roots.push_back(&n);
    else tree.kids[it->second].push_back(&n);
  }
  return tree;
}

void render_node(const Tree& tree, const Node& n, const std::string& prefix, bool last, bool top,
                 int64_t now, const SummaryOptions& options, std::string& out, int& budget) {
  if (options.max_nodes > 0 && budget-- <= 0) return;
  std::string branch = top ? "" : (last ? "└─" : "├─");
  std::string name = top ? n.name : n.display_name;
  std::string line = fmt::format(" {}{} {}", prefix + branch, symbol(n.phase), name);
  std::string tmpl = n.template_ref_name.empty() ? n.template_name
                                                  : n.template_ref_name + "/" + n.template_name;
  out += fmt::format("{:<48} {:<24}", line, tmpl);
  if (options.wide) out += fmt::format(" {:<40}", n.pod_name);
  if ((n.type == NodeType::kPod || n.type == NodeType::kHttp) && n.started_at_ms) out += fmt::format(" {:>8}", human_duration(node_duration(n, now)));
  else out += fmt::format(" {:>8}", "");
  if (!n.message.empty()) out += "  " + n.message;
  out += '\n';
  auto it = tree.kids.find(n.id);
  if (it == tree.kids.end()) return;
  std::string child_prefix = top ? "" : prefix + (last ? "  " : "│ ");
  for (size_t i = 0; i < it->second.size(); ++i)
    render_node(tree, *it->second[i], child_prefix, i + 1 == it->second.size(), false, now, options, out, budget);
}

int terminal_rows() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
  return 40;
}

}  // namespace

std::string render_summary(const engine::Operator& op, const engine::Clock& clock,
                           const SummaryOptions& options) {
  const auto& st = op.status();
  int64_t now = clock.now_ms();
  std::string out;
  out += fmt::format("{:<13}{}\n", "Name:", op.workflow_name());
  out += fmt::format("{:<13}{}\n", "Status:", engine::workflow_phase_name(st.phase));
  if (!st.message.empty()) out += fmt::format("{:<13}{}\n", "Message:", st.message);
  if (st.started_at_ms)
    out += fmt::format("{:<13}{}\n", "Duration:",
                       human_duration((st.finished_at_ms ? st.finished_at_ms : now) - st.started_at_ms));
  if (!st.progress.empty()) out += fmt::format("{:<13}{}\n", "Progress:", st.progress);
  if (!st.outputs.empty()) {
    out += "Outputs:\n";
    for (const auto& [k, v] : st.outputs) out += fmt::format("  {}: {}\n", k, v);
  }
  out += fmt::format("\n{:<48} {:<24}", " STEP", "TEMPLATE");
  if (options.wide) out += fmt::format(" {:<40}", "PODNAME");
  out += fmt::format(" {:>8}  MESSAGE\n", "DURATION");
  Tree tree = build_tree(st);
  int budget = options.max_nodes;
  for (const Node* root : tree.roots) render_node(tree, *root, "", true, true, now, options, out, budget);
  if (options.max_nodes > 0 && budget < 0)
    out += fmt::format(" ... {} more nodes (see --output wide or json)\n", st.nodes.size() - options.max_nodes);
  return out;
}

LiveView::LiveView(const engine::Operator& op, const engine::Clock& clock, bool terminal, std::FILE* out)
    : op_(op), clock_(clock), terminal_(terminal), out_(out) {}

void LiveView::node_changed(const Node& node) {
  if (terminal_) {
    redraw(false);
    return;
  }
  auto [it, inserted] = printed_.try_emplace(node.id, node.phase);
  if (!inserted && it->second == node.phase) return;
  it->second = node.phase;
  if (node.phase == NodePhase::kPending) return;
  std::string line = fmt::format("{} {:<9} {}", symbol(node.phase), engine::phase_name(node.phase), node.name);
  if (engine::is_finished(node.phase) && node.started_at_ms &&
      (node.type == NodeType::kPod || node.type == NodeType::kHttp))
    line += " (" + human_duration(node_duration(node, clock_.now_ms())) + ")";
  if (!node.message.empty()) line += ": " + node.message;
  std::fprintf(out_, "%s\n", line.c_str());
}

void LiveView::workflow_changed(const engine::WorkflowStatus& status) {
  if (terminal_) redraw(false);
}

void LiveView::finish() {
  if (terminal_) redraw(true);
  std::fflush(out_);
}

void LiveView::redraw(bool force) {
  int64_t now = clock_.now_ms();
  if (!force && now - last_draw_ms_ < 100) return;
  last_draw_ms_ = now;
  SummaryOptions options;
  options.max_nodes = std::max(5, terminal_rows() - 12);
  std::string text = render_summary(op_, clock_, options);
  std::string frame;
  if (drawn_lines_ > 0) frame += fmt::format("\x1b[{}F\x1b[J", drawn_lines_);  // up, clear below
  frame += text;
  drawn_lines_ = 0;
  for (char c : text) drawn_lines_ += c == '\n';
  std::fwrite(frame.data(), 1, frame.size(), out_);
  std::fflush(out_);
}

}  // namespace skiff::cli
