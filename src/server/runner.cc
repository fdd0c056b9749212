#include "server/runner.h"

#include <algorithm>
#include <climits>
#include <random>

#include "engine/workflow_json.h"

namespace skiff::server {
namespace {

std::string new_uid() {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  uint64_t a = rng(), b = rng();
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xfff,
                (static_cast<unsigned>(b >> 48) & 0x3fff) | 0x8000, static_cast<unsigned long long>(b) & 0xffffffffffffULL);
  return buf;
}

// Kubernetes' generateName: the prefix and five random lowercase letters or digits.
std::string generated_name(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out = prefix;
  for (int i = 0; i < 5; ++i) out += kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return out;
}

// Collects what changed in one workflow since it was last written.
class Dirty final : public engine::Observer {
 public:
  void node_changed(const engine::Node& node) override { nodes.insert(node.id); }
  void workflow_changed(const engine::WorkflowStatus&) override { status = true; }
  std::set<std::string> nodes;
  bool status = true;
};

}  // namespace

struct Runner::Run {
  spec::Object object;
  std::deque<spec::Object> templates;  // stable addresses: `library` points into it
  spec::Library library;
  std::unique_ptr<engine::Operator> op;
  std::shared_ptr<const runtime::WorkflowContext> context;
  Dirty dirty;
  std::string uid;
  size_t live_steps = 0;  // started and not yet exited
  bool finished_written = false;
};

Runner::Runner(runtime::Executor& executor, store::Store& store, const engine::Clock& clock, std::string data_dir)
    : executor_(executor), store_(store), clock_(clock), data_dir_(std::move(data_dir)) {}

Runner::~Runner() = default;

Result<store::WorkflowRecord> Runner::add(spec::Object workflow, std::vector<spec::Object> templates,
                                          engine::RunOptions options) {
  auto run = std::make_unique<Run>();
  run->object = std::move(workflow);
  for (auto& t : templates) {
    const spec::Object& kept = run->templates.emplace_back(std::move(t));
    (kept.kind == spec::Kind::kClusterWorkflowTemplate ? run->library.cluster_workflow_templates
                                                       : run->library.workflow_templates)
        .push_back(&kept);
  }
  run->uid = options.uid.empty() ? new_uid() : options.uid;
  options.uid = run->uid;
  if (options.name.empty() && run->object.metadata.name.empty()) {
    options.name = generated_name(run->object.metadata.generate_name);
  }
  auto op = engine::Operator::create(run->object, run->library, options, clock_);
  if (!op) return op.status();
  run->op = std::move(*op);
  store::WorkflowRecord record;
  record.uid = run->uid;
  record.namespace_ = options.namespace_;
  record.name = run->op->workflow_name();
  record.phase = "Pending";
  record.created_ms = clock_.now_ms();
  record.labels = run->object.metadata.labels;
  record.object = run->object.source_json;
  record.status = "{}";
  if (Status s = store_.create_workflow(record); !s) return s;
  std::string run_dir = data_dir_ + "/runs/" + record.namespace_ + "/" + record.name;
  run->context = std::make_shared<runtime::WorkflowContext>(
      runtime::workflow_context(run->op->effective_spec(), record.namespace_, run_dir));
  run->op->set_observer(&run->dirty);
  run->op->start();
  runs_[run->uid] = std::move(run);
  return record;
}

void Runner::persist(Run& run) {
  if (run.dirty.nodes.empty() && !run.dirty.status) return;
  std::vector<store::NodeRecord> nodes;
  nodes.reserve(run.dirty.nodes.size());
  for (const auto& id : run.dirty.nodes) {
    if (const engine::Node* n = run.op->node(id)) nodes.push_back({id, engine::node_json_text(*n)});
  }
  const engine::WorkflowStatus& st = run.op->status();
  std::string phase = engine::workflow_phase_name(st.phase);
  Status s = store_.save_progress(run.uid, phase, st.finished_at_ms, engine::status_json_text(st), nodes);
  if (!s) {
    // The record is gone (deleted while running): stop the run; its steps wind down.
    if (s.code() == Code::kNotFound) run.op->terminate("workflow deleted");
    return;
  }
  run.dirty.nodes.clear();
  run.dirty.status = false;
}

void Runner::carry_out(Run& run, std::vector<engine::Action> actions) {
  for (auto& action : actions) {
    if (auto* start = std::get_if<engine::StartStep>(&action)) {
      runtime::StepRequest req;
      req.workflow = run.context;
      req.node_id = run.uid + "/" + start->node_id;
      req.pod_name = std::move(start->pod_name);
      req.tmpl = std::move(start->tmpl);
      req.volumes = std::move(start->volumes);
      req.claims = std::move(start->claims);
      executor_.start(std::move(req));
      ++run.live_steps;
      run.op->step_started(start->node_id);
    } else if (auto* kill = std::get_if<engine::KillStep>(&action)) {
      executor_.kill(run.uid + "/" + kill->node_id, kill->reason);
    }
  }
}

void Runner::route_started() {
  for (auto& s : executor_.take_started()) {
    size_t slash = s.node_id.find('/');
    auto it = runs_.find(s.node_id.substr(0, slash));
    if (it != runs_.end()) it->second->op->step_ready(s.node_id.substr(slash + 1), s.ip);
  }
}

void Runner::turn(int max_wait_ms) {
  // Sleep until a step event or the earliest timer.
  int64_t wake = -1;
  for (auto& [uid, run] : runs_) {
    int64_t w = run->op->next_wakeup_ms();
    if (w >= 0 && (wake < 0 || w < wake)) wake = w;
  }
  int timeout = max_wait_ms;
  if (wake >= 0) timeout = static_cast<int>(std::clamp<int64_t>(wake - clock_.now_ms(), 0, max_wait_ms));
  if (executor_.running() > 0) {
    for (auto& result : executor_.wait(timeout)) {
      size_t slash = result.node_id.find('/');
      auto it = runs_.find(result.node_id.substr(0, slash));
      if (it == runs_.end()) continue;
      Run& run = *it->second;
      if (run.live_steps > 0) --run.live_steps;
      result.node_id = result.node_id.substr(slash + 1);
      engine::StepExit exit;
      exit.node_id = std::move(result.node_id);
      exit.exit_code = result.exit_code;
      exit.stdout_text = std::move(result.stdout_text);
      exit.output_parameters = std::move(result.output_parameters);
      exit.message = std::move(result.message);
      exit.error = result.error;
      run.op->step_exited(exit);
    }
  }
  route_started();
  int64_t now = clock_.now_ms();
  for (auto& [uid, run] : runs_) {
    int64_t w = run->op->next_wakeup_ms();
    if (w >= 0 && now >= w) run->op->tick();
  }

  // Decide, persist, act: workflows take turns at going first.
  std::vector<Run*> order;
  for (auto& [uid, run] : runs_) order.push_back(run.get());
  if (!order.empty()) std::rotate(order.begin(), order.begin() + static_cast<long>(rotation_++ % order.size()), order.end());
  for (Run* run : order) {
    for (auto actions = run->op->take_actions(); !actions.empty(); actions = run->op->take_actions()) {
      persist(*run);
      carry_out(*run, std::move(actions));
      route_started();
    }
    persist(*run);
  }
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (it->second->op->done() && it->second->live_steps == 0) {
      persist(*it->second);
      it = runs_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace skiff::server
