#include "server/runner.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <malloc.h>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/workflow_json.h"
#include "runtime/artifact_executor.h"
#include "runtime/secret_store.h"
#include "server/http_util.h"
#include "server/memo_cache.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

// How long one turn may spend starting steps before it lets the server's other work (API
// calls: terminate, delete) in; the steps left wait in their workflow's queue.
constexpr auto kSlice = std::chrono::milliseconds(50);
// Node records written per turn (about 50 ms); the rest wait for the next turns, so a
// workflow of 100,000 nodes neither holds the runner nor the store for seconds.
constexpr size_t kNodesPerTurn = 4096;
// A run of at least this many nodes that ends hands its memory back (malloc_trim).
constexpr size_t kTrimAfterNodes = 10000;
// Node events told per workflow. Kubernetes' event recorder lets Argo tell even fewer (a
// burst of 25 per object); beyond this, a big workflow would only push the rest of the
// server's events out of the ring, and hold on to memory scattered over the heap.
constexpr size_t kNodeEventsPerWorkflow = 1000;

std::string new_uid() {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  uint64_t a = rng(), b = rng();
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xfff,
                (static_cast<unsigned>(b >> 48) & 0x3fff) | 0x8000, static_cast<unsigned long long>(b) & 0xffffffffffffULL);
  return buf;
}

// Collects what changed in one workflow since it was last written, and passes the
// metrics it declares on to the registry. Nodes are written in the order they first
// changed, so a step's node is on disk no later than those of steps decided after it.
// Tells the run's watcher (Runner::Watch) every change as well.
class Dirty final : public engine::Observer {
 public:
  void node_changed(const engine::Node& node) override {
    if (pending.insert(node.id).second) order.push_back(node.id);
    if (watcher) watcher->node_changed(node);
  }
  void workflow_changed(const engine::WorkflowStatus& st) override {
    status = true;
    if (watcher) watcher->workflow_changed(st);
  }
  void metric(const engine::MetricSample& sample) override {
    if (metrics) metrics->record(sample);
    if (watcher) watcher->metric(sample);
  }
  bool clean() const { return order.empty() && !status; }
  // Nodes of a transaction that failed: first in line again, with the status.
  void unwritten(const std::vector<store::NodeRecord>& nodes) {
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      if (pending.insert(it->id).second) order.push_front(it->id);
    }
    status = true;
  }
  std::deque<std::string> order;            // ids not written since they changed
  std::unordered_set<std::string> pending;  // the same ids, to look up
  bool status = true;
  MetricsRegistry* metrics = nullptr;
  engine::Observer* watcher = nullptr;
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
  bool deleted = false;   // its record is gone: its run directory goes when it ends
  std::deque<engine::StartStep> queued;  // decided, waiting for a step slot
  std::set<std::string> adopt;           // queued steps that may have started before a restart
  std::map<std::string, std::string> event_phases;  // node id ("" = the workflow) -> phase told
  std::vector<Event> pending_events;               // told once the turn is stored
  size_t node_events = 0;                          // node events told (kNodeEventsPerWorkflow)
  // After a restart: what the store held, by node id (phase, body).
  std::map<std::string, std::pair<spec::NodePhase, std::string>> stored;
};

namespace {

// A semaphore's limit: the integer its ConfigMap holds under its key.
Result<int64_t> semaphore_limit(const std::string& data_dir, const spec::LockRef& r) {
  auto cm = data_dir.empty() ? Result<runtime::ConfigObject>(not_found(""))
                             : runtime::read_config_object(data_dir, runtime::ConfigKind::kConfigMap, r.namespace_, r.name);
  if (!cm)
    return not_found("ConfigMap \"" + r.name + "\" not found in namespace " + r.namespace_ +
                     "; create it (skiff configmap create, or give its YAML to skiff run) with the limit under key \"" +
                     r.key + "\"");
  auto v = cm->data.find(r.key);
  if (v == cm->data.end()) return not_found("Sync configuration key '" + r.key + "' not found in ConfigMap");
  const std::string& text = v->second;
  bool digits = !text.empty() && text.size() < 18 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) return invalid("the value \"" + text + "\" of key '" + r.key + "' in ConfigMap \"" + r.name + "\" is not an integer");
  return static_cast<int64_t>(std::stoll(text));
}

}  // namespace

Runner::Runner(runtime::Executor& executor, store::Store& store, const engine::Clock& clock, std::string data_dir)
    : executor_(executor),
      store_(store),
      clock_(clock),
      data_dir_(std::move(data_dir)),
      locks_([this](const spec::LockRef& r) { return semaphore_limit(data_dir_, r); }) {}

Runner::~Runner() = default;

Result<std::unique_ptr<Runner::Run>> Runner::prepare(spec::Object workflow, std::vector<spec::Object> templates,
                                                     engine::RunOptions& options) {
  auto run = std::make_unique<Run>();
  run->object = std::move(workflow);
  for (auto& t : templates) {
    const spec::Object& kept = run->templates.emplace_back(std::move(t));
    (kept.kind == spec::Kind::kClusterWorkflowTemplate ? run->library.cluster_workflow_templates
                                                       : run->library.workflow_templates)
        .push_back(&kept);
  }
  Diagnostics warnings, refused;
  spec::check_pod_fields(run->object, &run->library, pod_support_, warnings, refused);
  if (!refused.empty()) return invalid(refused[0].path + ": " + refused[0].message);
  for (const auto& d : warnings) options.spec_warnings.push_back(d.path + ": " + d.message);
  options.max_nodes = max_nodes_;
  options.limit_hint = "skiff server --max-nodes";
  // The namespace's ConfigMaps, for valueFrom.configMapKeyRef (the engine reads no files).
  // Those labelled as caches are what `memoize` templates read (server/memo_cache.h).
  if (!data_dir_.empty())
    for (auto& [name, cm] : runtime::list_config_objects(data_dir_, runtime::ConfigKind::kConfigMap, options.namespace_)) {
      if (is_cache_config_map(cm)) options.cache_config_maps.insert(name);
      options.config_maps[name] = std::move(cm.data);
    }
  run->uid = options.uid.empty() ? new_uid() : options.uid;
  options.uid = run->uid;
  if (options.name.empty() && run->object.metadata.name.empty()) {
    options.name = generated_name(run->object.metadata.generate_name);
  }
  // One creation time for the engine's variables and the executor's artifact keys.
  if (options.started_at_ms < 0) options.started_at_ms = clock_.now_ms();
  auto op = engine::Operator::create(run->object, run->library, options, clock_);
  if (!op) return op.status();
  run->op = std::move(*op);
  runtime::WorkflowContext context =
      runtime::workflow_context(run->op->effective_spec(), options.namespace_, run->op->workflow_name());
  context.uid = run->uid;
  context.created_ms = options.started_at_ms;
  if (Status s = executor_.open_workflow(&context); !s) return s;
  run->context = std::make_shared<runtime::WorkflowContext>(std::move(context));
  run->dirty.metrics = metrics_;
  run->op->set_observer(&run->dirty);
  return run;
}

Result<store::WorkflowRecord> Runner::add(spec::Object workflow, std::vector<spec::Object> templates,
                                          engine::RunOptions options, const Watch& watch) {
  auto prepared = prepare(std::move(workflow), std::move(templates), options);
  if (!prepared) return prepared.status();
  std::unique_ptr<Run> run = std::move(*prepared);
  if (watch) run->dirty.watcher = watch(*run->op);
  store::WorkflowRecord record;
  record.uid = run->uid;
  record.namespace_ = options.namespace_;
  record.name = run->op->workflow_name();
  record.phase = spec::WorkflowPhase::kPending;
  record.created_ms = clock_.now_ms();
  record.labels = run->object.metadata.labels;
  record.object = run->object.source_json;
  record.status = "{}";
  if (Status s = store_.create_workflow(record); !s) return s;
  run->op->start();
  runs_[run->uid] = std::move(run);
  return record;
}

std::shared_ptr<const engine::Operator> Runner::operator_of(const std::string& uid) const {
  auto it = runs_.find(uid);
  if (it == runs_.end()) return nullptr;
  return std::shared_ptr<const engine::Operator>(it->second, it->second->op.get());
}

Status Runner::resume(const store::WorkflowRecord& record, spec::Object workflow, std::vector<spec::Object> templates) {
  return restart(record, std::move(workflow), std::move(templates), false);
}

Status Runner::retry(const store::WorkflowRecord& record, spec::Object workflow, std::vector<spec::Object> templates) {
  for (const auto& [uid, run] : runs_) {
    if (uid == record.uid) return invalid("workflow " + record.name + " is still running: stop it before retrying");
  }
  if (record.phase == spec::WorkflowPhase::kSucceeded) return invalid("workflow " + record.name + " Succeeded: there is nothing to retry");
  return restart(record, std::move(workflow), std::move(templates), true);
}

void Runner::forget(Run& run) {
  run.deleted = true;
  run.op->terminate("workflow deleted");
  // Its steps are told now, not on the next turn: a server stopped right after the delete
  // would leave them running, with no record left for the next server to find them by.
  // (Nothing of a deleted run is stored, so there is nothing to persist first.)
  carry_out(run, run.op->take_actions());
}

Status Runner::remove(const std::string& namespace_, const std::string& name) {
  Run* run = find(namespace_, name, /*running_only=*/false);
  collect_deleted_artifacts(namespace_, name);
  // The run directory (logs, claims) goes first: on a full disk that makes room for the
  // store; if that is not enough, the space kept in reserve for this is given up.
  if (!run && store_.get_workflow(namespace_, name)) executor_.release_workflow(namespace_, name);
  Status s = store_.delete_workflow(namespace_, name);
  if (!s && s.code() != Code::kNotFound && release_reserve()) s = store_.delete_workflow(namespace_, name);
  if (!s) return s;
  if (run) forget(*run);  // its directory goes when its steps have ended
  return Status::ok();
}

void Runner::collect_deleted_artifacts(const std::string& namespace_, const std::string& name) {
  auto record = store_.get_workflow(namespace_, name);
  if (!record) return;
  auto nodes = store_.nodes(record->uid);
  std::vector<std::string> artifacts;
  for (const auto& n : nodes ? *nodes : std::vector<store::NodeRecord>{}) {
    auto j = nlohmann::json::parse(n.body, nullptr, false);
    for (const auto& a : array_member(object_member(j, "outputs"), "artifacts")) {
      std::string text = a.dump();
      if (runtime::gc_strategy_of(text) == "OnWorkflowDeletion") artifacts.push_back(std::move(text));
    }
  }
  runtime::WorkflowContext context;
  context.namespace_ = namespace_;
  context.name = name;
  context.uid = record->uid;
  context.artifact_repository_ref = runtime::repository_ref_of(record->object);
  executor_.collect_artifacts(context, std::move(artifacts));
}

// A file of kReserveBytes in the data directory, given up when the disk is full and a
// delete needs room, and made again once there is room.
namespace {
constexpr off_t kReserveBytes = 8 << 20;
}

void Runner::acquire_lock(Run& run, const engine::AcquireLock& request) {
  // After a restart: a node the store has as finished took and gave back its locks before.
  if (auto stored = run.stored.find(request.holder);
      !request.holder.empty() && stored != run.stored.end() && spec::is_finished(stored->second.first)) {
    run.op->lock_acquired(request.holder);
    return;
  }
  std::string key = run.context->namespace_ + "/" + run.op->workflow_name();
  if (!request.holder.empty()) key += "/" + request.holder;
  answer_locks({{key, locks_.acquire({key, request.locks, request.priority, request.created_ms})}});
}

void Runner::answer_locks(const std::vector<std::pair<std::string, LockManager::Answer>>& answers) {
  for (const auto& [key, answer] : answers) {
    std::string workflow = LockManager::workflow_of(key);
    size_t slash = workflow.find('/');
    Run* run = slash == std::string::npos ? nullptr : find(workflow.substr(0, slash), workflow.substr(slash + 1), false);
    if (!run) {  // its run is gone: what it got goes to the next
      if (answer.kind == LockManager::Answer::Kind::kAcquired) answer_locks(locks_.release(key));
      continue;
    }
    std::string holder = key.size() > workflow.size() ? key.substr(workflow.size() + 1) : "";
    switch (answer.kind) {
      case LockManager::Answer::Kind::kAcquired: run->op->lock_acquired(holder); break;
      case LockManager::Answer::Kind::kWaiting: run->op->lock_waiting(holder, answer.lock, answer.message); break;
      case LockManager::Answer::Kind::kFailed: run->op->lock_failed(holder, answer.message); break;
    }
  }
}

void Runner::refresh_lock_status() {
  for (const auto& workflow : locks_.take_changed()) {
    size_t slash = workflow.find('/');
    if (slash == std::string::npos) continue;
    if (Run* run = find(workflow.substr(0, slash), workflow.substr(slash + 1), false))
      run->op->set_synchronization_status(locks_.status_json(workflow));
  }
}

void Runner::keep_reserve() {
  if (!keep_reserve_ || data_dir_.empty()) return;
  std::string path = data_dir_ + "/.space-reserve";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size >= kReserveBytes) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (::posix_fallocate(fd, 0, kReserveBytes) != 0) ::ftruncate(fd, 0);  // no room yet: try later
  ::close(fd);
}

bool Runner::release_reserve() {
  std::string path = data_dir_ + "/.space-reserve";
  struct stat st;
  if (data_dir_.empty() || ::stat(path.c_str(), &st) != 0 || st.st_size == 0) return false;
  ::unlink(path.c_str());
  return true;
}

Runner::Run* Runner::find(const std::string& namespace_, const std::string& name, bool running_only) {
  for (auto& [uid, run] : runs_) {
    if (run->context->namespace_ == namespace_ && run->op->workflow_name() == name &&
        !(running_only && run->op->done())) {
      return run.get();
    }
  }
  return nullptr;
}

Status Runner::stop(const std::string& namespace_, const std::string& name, const std::string& message, bool terminate) {
  Run* run = find(namespace_, name);
  if (!run) return invalid("workflow " + name + " is not running");
  std::string why = message.empty() ? (terminate ? "Stopped with strategy 'Terminate'" : "Stopped with strategy 'Stop'")
                                    : message;
  if (terminate) {
    run->op->terminate(why);
  } else {
    run->op->stop(why);
  }
  return Status::ok();
}

Status Runner::keep_suspend_flag(Run& run, bool suspended) {
  auto object = nlohmann::json::parse(run.object.source_json, nullptr, false);
  if (!object.is_object()) return internal_error("the stored definition of " + run.op->workflow_name() + " is damaged");
  if (suspended) {
    object["spec"]["suspend"] = true;
  } else if (object.contains("spec")) {
    object["spec"].erase("suspend");
  }
  run.object.source_json = object.dump();
  return store_.set_workflow_object(run.uid, run.object.source_json);
}

Status Runner::suspend(const std::string& namespace_, const std::string& name) {
  Run* run = find(namespace_, name);
  if (!run) return invalid("workflow " + name + " is not running: only running workflows can be suspended");
  if (Status s = run->op->suspend(); !s) return s;
  persist_all();  // acknowledged means stored
  return keep_suspend_flag(*run, true);
}

Status Runner::resume(const std::string& namespace_, const std::string& name, const std::string& selector) {
  Run* run = find(namespace_, name);
  if (!run) return invalid("workflow " + name + " is not running: there is nothing to resume");
  bool was_suspended = run->op->suspended();
  if (Status s = run->op->resume(selector); !s) return s;
  persist_all();
  if (was_suspended && !run->op->suspended()) return keep_suspend_flag(*run, false);
  return Status::ok();
}

Result<int> Runner::set_nodes(const std::string& namespace_, const std::string& name, const std::string& selector,
                              const engine::NodeUpdate& update) {
  Run* run = find(namespace_, name);
  if (!run) return invalid("workflow " + name + " is not running: its nodes cannot be set");
  auto n = run->op->set_nodes(selector, update);
  persist_all();
  return n;
}

void Runner::replay_suspend_nodes(Run& run) {
  if (run.stored.empty()) return;
  for (size_t i = 0; i < run.dirty.order.size(); ++i) {  // by index: set_nodes below may add to it
    const std::string id = run.dirty.order[i];
    const engine::Node* n = run.op->node(id);
    auto stored = run.stored.find(id);
    if (!n || n->type != engine::NodeType::kSuspend || n->phase != engine::NodePhase::kRunning || stored == run.stored.end()) {
      continue;
    }
    auto j = nlohmann::json::parse(stored->second.second, nullptr, false);
    run.stored.erase(stored);
    if (!j.is_object()) continue;
    engine::NodeUpdate update;
    for (const auto& p : j.value("outputs", nlohmann::json::object()).value("parameters", nlohmann::json::array())) {
      if (p.contains("name") && p.contains("value") && p["value"].is_string()) update.output_parameters[p["name"]] = p["value"];
    }
    spec::NodePhase phase = spec::parse_node_phase(j.value("phase", ""));
    if (spec::is_finished(phase)) {
      update.phase = spec::phase_name(phase);
      update.message = j.value("message", "");
    }
    (void)run.op->set_nodes("id=" + id, update);
  }
}

Status Runner::restart(const store::WorkflowRecord& record, spec::Object workflow, std::vector<spec::Object> templates,
                       bool succeeded_only) {
  engine::RunOptions options;
  options.name = record.name;
  options.namespace_ = record.namespace_;
  options.uid = record.uid;
  auto nodes = store_.nodes(record.uid);
  if (!nodes) return nodes.status();
  std::map<std::string, std::pair<spec::NodePhase, std::string>> stored;
  std::vector<std::string> dropped;
  for (const auto& n : *nodes) {
    auto j = nlohmann::json::parse(n.body, nullptr, false);
    spec::NodePhase phase = spec::parse_node_phase(j.is_object() ? j.value("phase", "") : "");
    // A retry keeps what succeeded; everything else (failed steps, and tasks skipped or
    // omitted because of them) is decided again.
    bool keep = !succeeded_only || phase == spec::NodePhase::kSucceeded;
    // A suspended workflow's Pending steps were held, never started: they run anew.
    if (phase == spec::NodePhase::kPending && workflow.spec.suspend) keep = false;
    if (keep) {
      stored[n.id] = {phase, n.body};
      options.replayed.insert(n.id);
    } else {
      dropped.push_back(n.id);
    }
  }
  if (!succeeded_only) {  // a resumed run keeps its times, and so its deadlines
    auto status = nlohmann::json::parse(record.status, nullptr, false);
    if (status.is_object()) options.started_at_ms = engine::parse_rfc3339(status.value("startedAt", ""));
    // The locks it held: back to it before any workflow asks (server/lock_manager.h).
    if (status.is_object() && status.contains("synchronization"))
      locks_.restore(record.namespace_ + "/" + record.name, status["synchronization"].dump());
    for (const auto& [id, kept] : stored) {
      auto j = nlohmann::json::parse(kept.second, nullptr, false);
      int64_t started = j.is_object() ? engine::parse_rfc3339(j.value("startedAt", "")) : -1;
      if (started >= 0) options.node_started_ms[id] = started;
    }
  }
  auto prepared = prepare(std::move(workflow), std::move(templates), options);
  if (!prepared) return prepared.status();
  std::unique_ptr<Run> run = std::move(*prepared);
  run->stored = std::move(stored);
  if (Status s = store_.delete_nodes(record.uid, dropped); !s) return s;
  if (succeeded_only) {  // a retry: running again from now on, as readers should see at once
    const spec::WorkflowPhase running = spec::WorkflowPhase::kRunning;
    nlohmann::json status = {{"phase", spec::workflow_phase_name(running)}};
    if (Status s = store_.save_progress(record.uid, running, 0, status.dump(), {}); !s) return s;
  }
  run->op->start();
  runs_[run->uid] = std::move(run);
  return Status::ok();
}

namespace {

// The exit a stored, finished Pod node reported, rebuilt from its record.
engine::StepExit stored_exit(const std::string& node_id, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  engine::StepExit exit;
  exit.node_id = node_id;
  spec::NodePhase phase = spec::parse_node_phase(j.value("phase", ""));
  const auto outputs = j.value("outputs", nlohmann::json::object());
  exit.exit_code = phase == spec::NodePhase::kSucceeded ? 0 : 1;
  if (outputs.contains("exitCode")) exit.exit_code = std::atoi(outputs["exitCode"].get<std::string>().c_str());
  if (outputs.contains("result")) exit.stdout_text = outputs["result"].get<std::string>();
  for (const auto& p : outputs.value("parameters", nlohmann::json::array())) {
    if (p.contains("name") && p.contains("value")) exit.output_parameters[p["name"]] = p["value"].get<std::string>();
  }
  for (const auto& a : outputs.value("artifacts", nlohmann::json::array())) {
    if (a.is_object() && a.contains("name") && a["name"].is_string()) exit.output_artifacts[a["name"]] = a.dump();
  }
  exit.message = j.value("message", "");
  exit.error = phase == spec::NodePhase::kError;
  return exit;
}

}  // namespace

bool Runner::collect(Run& run, store::Store::Progress* out, size_t* budget) {
  if (run.dirty.clean()) return false;
  if (run.deleted) {  // its record is gone: nothing to write
    run.dirty.order.clear();
    run.dirty.pending.clear();
    run.dirty.status = false;
    return false;
  }
  std::vector<store::NodeRecord> nodes;
  while (*budget > 0 && !run.dirty.order.empty()) {
    std::string id = std::move(run.dirty.order.front());
    run.dirty.order.pop_front();
    run.dirty.pending.erase(id);
    --*budget;
    const engine::Node* n = run.op->node(id);
    if (!n) continue;
    // A node the store holds as finished keeps that record (and its times) while the
    // replay passes through Pending/Running to the same end.
    auto stored = run.stored.find(id);
    if (stored != run.stored.end() && spec::is_finished(stored->second.first) &&
        (!spec::is_finished(n->phase) || stored->second.first == n->phase)) {
      continue;
    }
    nodes.push_back({id, engine::node_json_text(*n)});
    note_node_event(run, *n);
  }
  // A finished workflow's status goes with its last nodes: no reader sees it ended while
  // its nodes still say Running.
  bool status = run.dirty.status && !(run.op->done() && !run.dirty.order.empty());
  if (nodes.empty() && !status) return false;
  *out = {run.uid, spec::WorkflowPhase::kPending, 0, "", std::move(nodes)};
  if (status) {
    const engine::WorkflowStatus& st = run.op->status();
    note_workflow_event(run, st);
    out->phase = st.phase;
    out->finished_ms = st.finished_at_ms;
    out->status = engine::status_json_text(st);
    run.dirty.status = false;
  }
  return true;
}

void Runner::note_node_event(Run& run, const engine::Node& n) {
  if (!events_ || n.phase == engine::NodePhase::kPending || n.type == engine::NodeType::kStepGroup ||
      n.type == engine::NodeType::kTaskGroup || run.node_events >= kNodeEventsPerWorkflow) {
    return;
  }
  std::string& last = run.event_phases[n.id];
  std::string phase = engine::phase_name(n.phase);
  if (last == phase) return;
  last = phase;
  ++run.node_events;
  bool bad = n.phase == engine::NodePhase::kFailed || n.phase == engine::NodePhase::kError;
  std::string message = phase + " node " + n.name + (bad && !n.message.empty() ? ": " + n.message : "");
  run.pending_events.push_back({0, run.context->namespace_, run.op->workflow_name(), run.uid,
                                "WorkflowNode" + phase, message, bad, clock_.now_ms()});
}

void Runner::note_workflow_event(Run& run, const engine::WorkflowStatus& st) {
  if (!events_ || st.phase == engine::WorkflowPhase::kPending) return;
  std::string phase = engine::workflow_phase_name(st.phase);
  if (run.event_phases[""] == phase) return;
  run.event_phases[""] = phase;
  bool bad = st.phase == engine::WorkflowPhase::kFailed || st.phase == engine::WorkflowPhase::kError;
  std::string message = st.phase == engine::WorkflowPhase::kRunning     ? "Workflow Running"
                        : st.phase == engine::WorkflowPhase::kSucceeded ? "Workflow completed"
                                                                        : phase + (st.message.empty() ? "" : ": " + st.message);
  run.pending_events.push_back({0, run.context->namespace_, run.op->workflow_name(), run.uid, "Workflow" + phase,
                                message, bad, clock_.now_ms()});
}

void Runner::persist_all() {
  std::vector<store::Store::Progress> batch;
  size_t budget = kNodesPerTurn;
  for (auto& [uid, run] : runs_) {
    store::Store::Progress p;
    if (collect(*run, &p, &budget)) batch.push_back(std::move(p));
  }
  if (batch.empty()) return;
  auto gone = store_.save_many(batch);
  save_failed_ = !gone;
  if (!gone) {
    // (A full disk, say.) Nothing is lost: the changes stay to be written by the next turn.
    std::fprintf(stderr, "skiff server: cannot save progress (will try again): %s\n", gone.status().message().c_str());
    for (const auto& p : batch) {
      auto it = runs_.find(p.uid);
      if (it == runs_.end()) continue;
      it->second->dirty.unwritten(p.nodes);
    }
    return;
  }
  if (events_) {  // told once stored
    for (auto& [uid, run] : runs_) {
      for (auto& e : run->pending_events) events_->append(std::move(e));
      run->pending_events.clear();
    }
  }
  // Deleted while running: the run stops; its steps wind down.
  for (const auto& uid : *gone) {
    if (auto it = runs_.find(uid); it != runs_.end()) forget(*it->second);
  }
}

void Runner::carry_out(Run& run, std::vector<engine::Action> actions) {
  std::unordered_map<std::string, std::string> kills;  // node id -> reason
  for (auto& action : actions) {
    if (auto* start = std::get_if<engine::StartStep>(&action)) {
      if (auto stored = run.stored.find(start->node_id); stored != run.stored.end()) {
        // After a restart: a step that finished is answered from the store; one that was
        // running (its supervisor outlived the old server) is followed again, and one that
        // never started starts now.
        if (!spec::is_finished(stored->second.first)) {
          // Running: it holds a slot already. Pending: most likely it never started, so it
          // waits for a slot like any other (and is adopted if it had started after all).
          bool running = stored->second.first == spec::NodePhase::kRunning;
          run.stored.erase(stored);
          if (running || may_launch()) {
            launch(run, std::move(*start), /*adopt=*/true);
          } else {
            run.adopt.insert(start->node_id);
            run.queued.push_back(std::move(*start));
            ++queued_total_;
          }
          continue;
        }
        run.op->step_started(start->node_id);
        run.op->step_exited(stored_exit(start->node_id, stored->second.second));
        continue;
      }
      if (!may_launch() || run.dirty.pending.count(start->node_id)) {  // no slot, or not written yet
        run.queued.push_back(std::move(*start));
        ++queued_total_;
        continue;
      }
      launch(run, std::move(*start));
    } else if (auto* kill = std::get_if<engine::KillStep>(&action)) {
      kills.emplace(kill->node_id, kill->reason);
    } else if (auto* entry = std::get_if<engine::StoreCacheEntry>(&action)) {
      // The engine counted the entry in already; a write that fails loses it for later runs only.
      if (data_dir_.empty()) continue;
      if (Status st = write_cache_entry(data_dir_, run.context->namespace_, *entry); !st)
        std::fprintf(stderr, "skiff: memoize: cannot store cache entry %s in ConfigMap %s: %s\n", entry->key.c_str(),
                     entry->cache_name.c_str(), st.message().c_str());
    } else if (auto* acquire = std::get_if<engine::AcquireLock>(&action)) {
      acquire_lock(run, *acquire);
    } else if (auto* release = std::get_if<engine::ReleaseLock>(&action)) {
      std::string key = run.context->namespace_ + "/" + run.op->workflow_name();
      answer_locks(locks_.release(release->holder.empty() ? key : key + "/" + release->holder));
    }
  }
  refresh_lock_status();
  if (kills.empty()) return;
  // Steps still queued never started: they end here (the engine words why), in one pass
  // over the queue however many there are (a terminate kills them all).
  std::vector<std::string> unstarted;
  auto kept = std::remove_if(run.queued.begin(), run.queued.end(), [&](const engine::StartStep& s) {
    if (!kills.erase(s.node_id)) return false;
    unstarted.push_back(s.node_id);
    return true;
  });
  run.queued.erase(kept, run.queued.end());
  queued_total_ -= unstarted.size();
  for (const auto& id : unstarted) {
    run.adopt.erase(id);
    engine::StepExit exit;
    exit.node_id = id;
    exit.exit_code = -1;
    run.op->step_exited(exit);
  }
  for (const auto& [id, reason] : kills) executor_.kill(run.uid + "/" + id, reason);
}

void Runner::launch(Run& run, engine::StartStep start, bool adopt) {
  runtime::StepRequest req;
  req.adopt = adopt;
  req.workflow = run.context;
  req.node_id = run.uid + "/" + start.node_id;
  req.node_name = std::move(start.node_name);
  req.pod_name = std::move(start.pod_name);
  req.tmpl = std::move(start.tmpl);
  req.volumes = std::move(start.volumes);
  req.claims = std::move(start.claims);
  executor_.start(std::move(req));
  if (metrics_) metrics_->add_counter("skiff_steps_started_total", "Steps started", {});
  ++run.live_steps;
  ++live_total_;
  run.op->step_started(start.node_id);
}

bool Runner::may_launch() const {
  return (max_steps_ == 0 || live_total_ < max_steps_) && std::chrono::steady_clock::now() < slice_end_;
}

bool Runner::dispatch() {
  if (queued_total_ == 0 || !may_launch()) return false;
  std::vector<Run*> waiting;
  for (auto& [uid, run] : runs_) {
    if (!run->queued.empty()) waiting.push_back(run.get());
  }
  // One step per workflow per round, the first workflow moving on each time. A workflow
  // whose next step's node is not written yet waits for a later turn.
  size_t first = dispatch_cursor_++ % waiting.size();
  bool any = false;
  for (bool round = true; round && may_launch();) {
    round = false;
    for (size_t i = 0; i < waiting.size() && may_launch(); ++i) {
      Run& run = *waiting[(first + i) % waiting.size()];
      if (run.queued.empty() || run.dirty.pending.count(run.queued.front().node_id)) continue;
      engine::StartStep next = std::move(run.queued.front());
      run.queued.pop_front();
      --queued_total_;
      bool adopt = run.adopt.erase(next.node_id) > 0;
      launch(run, std::move(next), adopt);
      round = any = true;
    }
  }
  return any;
}

int64_t Runner::expiry(const spec::WorkflowSpec& spec, spec::WorkflowPhase phase, int64_t finished_ms) {
  if (!spec.ttl_strategy) return -1;
  const spec::TtlStrategy& ttl = *spec.ttl_strategy;
  std::optional<int64_t> secs = phase == spec::WorkflowPhase::kSucceeded ? ttl.seconds_after_success : ttl.seconds_after_failure;
  if (!secs) secs = ttl.seconds_after_completion;
  return secs ? finished_ms + *secs * 1000 : -1;
}

void Runner::route_started() {
  for (auto& s : executor_.take_started()) {
    size_t slash = s.node_id.find('/');
    auto it = runs_.find(s.node_id.substr(0, slash));
    if (it != runs_.end()) it->second->op->step_ready(s.node_id.substr(slash + 1), s.ip);
  }
}

bool Runner::behind() const {
  // The store just refused a write (a full disk): the next try waits for the next event
  // (or the turn's usual wait) rather than coming at once.
  if (save_failed_) return false;
  if (queued_total_ > 0 && (max_steps_ == 0 || live_total_ < max_steps_)) return true;
  return std::any_of(runs_.begin(), runs_.end(), [](const auto& r) { return !r.second->dirty.clean(); });
}

int Runner::idle_ms(int max_ms) const {
  if (executor_.running() > 0 || behind()) return 0;
  int64_t now = clock_.now_ms(), wait = max_ms;
  for (const auto& [uid, run] : runs_) {
    int64_t w = run->op->next_wakeup_ms();
    if (w >= 0) wait = std::min(wait, std::max<int64_t>(w - now, 0));
  }
  return static_cast<int>(wait);
}

bool Runner::stalled() const {
  if (executor_.running() > 0 || queued_total_ > 0 || behind()) return false;
  return std::none_of(runs_.begin(), runs_.end(), [](const auto& r) { return r.second->op->next_wakeup_ms() >= 0; });
}

void Runner::turn(int max_wait_ms) {
  bool worked = false;
  // Sleep until a step event or the earliest timer.
  int64_t wake = -1;
  for (auto& [uid, run] : runs_) {
    int64_t w = run->op->next_wakeup_ms();
    if (w >= 0 && (wake < 0 || w < wake)) wake = w;
  }
  int timeout = max_wait_ms;
  if (wake >= 0) timeout = static_cast<int>(std::clamp<int64_t>(wake - clock_.now_ms(), 0, max_wait_ms));
  // The last turn left work undone: only look for exits (1 ms: the executor's wait(0)
  // does not poll).
  if (behind()) timeout = std::min(timeout, 1);
  if (executor_.running() > 0) {
    for (auto& result : executor_.wait(timeout)) {
      size_t slash = result.node_id.find('/');
      auto it = runs_.find(result.node_id.substr(0, slash));
      if (it == runs_.end()) continue;
      Run& run = *it->second;
      if (run.live_steps > 0) --run.live_steps;
      if (live_total_ > 0) --live_total_;
      result.node_id = result.node_id.substr(slash + 1);
      engine::StepExit exit;
      exit.node_id = std::move(result.node_id);
      exit.exit_code = result.exit_code;
      exit.stdout_text = std::move(result.stdout_text);
      exit.output_parameters = std::move(result.output_parameters);
      exit.output_artifacts = std::move(result.output_artifacts);
      exit.message = std::move(result.message);
      exit.error = result.error;
      exit.reason = std::move(result.reason);
      exit.termination_message = std::move(result.termination_message);
      exit.containers_json = std::move(result.containers_json);
      if (metrics_) {
        const char* how = spec::phase_name(exit.error ? spec::NodePhase::kError
                                           : exit.exit_code == 0 ? spec::NodePhase::kSucceeded
                                                                 : spec::NodePhase::kFailed);
        metrics_->add_counter("skiff_steps_finished_total", "Steps ended, by how", {{"phase", how}});
      }
      run.op->step_exited(exit);
    }
  }
  auto started = std::chrono::steady_clock::now();  // the turn's work, without its wait
  slice_end_ = started + kSlice;
  route_started();
  int64_t now = clock_.now_ms();
  for (auto& [uid, run] : runs_) {
    int64_t w = run->op->next_wakeup_ms();
    if (w >= 0 && now >= w) run->op->tick();
  }

  // Decide, persist (one transaction for all), act; workflows take turns at going first.
  std::vector<Run*> order;
  for (auto& [uid, run] : runs_) order.push_back(run.get());
  if (!order.empty()) std::rotate(order.begin(), order.begin() + static_cast<long>(rotation_++ % order.size()), order.end());
  for (;;) {
    std::vector<std::pair<Run*, std::vector<engine::Action>>> decided;
    for (Run* run : order) {
      replay_suspend_nodes(*run);
      auto actions = run->op->take_actions();
      if (!actions.empty()) decided.emplace_back(run, std::move(actions));
    }
    persist_all();
    for (auto& [run, actions] : decided) carry_out(*run, std::move(actions));
    bool launched = dispatch();
    route_started();
    if (decided.empty() && !launched) break;
    worked = true;
  }
  size_t ended_nodes = 0;
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (it->second->op->done() && it->second->live_steps == 0 && it->second->dirty.clean()) {
      const engine::Operator& op = *it->second->op;
      ended_nodes += op.status().nodes.size();
      // artifactGC: what lives only for the run goes now (in the background).
      std::vector<std::string> done_with;
      for (const engine::Node& n : op.status().nodes)
        for (const auto& [name, json] : n.outputs.artifacts)
          if (runtime::gc_strategy_of(json) == "OnWorkflowCompletion") done_with.push_back(json);
      executor_.collect_artifacts(*it->second->context, std::move(done_with));
      executor_.workflow_ended(*it->second->context, op.status().phase == spec::WorkflowPhase::kSucceeded);
      if (it->second->deleted) {
        executor_.release_workflow(it->second->context->namespace_, op.workflow_name());
      } else if (int64_t due = expiry(op.effective_spec(), op.status().phase,
                                      op.status().finished_at_ms);
                 due >= 0) {
        expiries_.push_back({it->second->context->namespace_, op.workflow_name(), due});
      }
      // Whatever it still holds or waits for (its engine gave back what it knew of) goes.
      answer_locks(locks_.release_workflow(it->second->context->namespace_ + "/" + op.workflow_name()));
      it = runs_.erase(it);  // everything it changed is written
    } else {
      ++it;
    }
  }
  refresh_lock_status();
  if (++reserve_check_ % 256 == 1) keep_reserve();
  // A big run leaves its memory scattered over the heap: give it back to the system.
  if (ended_nodes >= kTrimAfterNodes) malloc_trim(0);
  if (worked && metrics_) {
    metrics_->observe("argo_workflows_operation_duration_seconds", "How long a runner turn took to decide, store and act",
                      {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                      {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  }
}

}  // namespace skiff::server
