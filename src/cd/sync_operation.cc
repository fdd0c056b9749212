// cd::sync: one step of Argo CD's sync operation (the behaviour of gitops-engine's sync context).
#include <algorithm>
#include <cctype>

#include "cd/sync.h"
#include "cd/sync_internal.h"
#include "util/json_text.h"

namespace skiff::cd {
namespace {

using Json = nlohmann::json;
using namespace internal;

// One thing the operation does: apply (or prune) a resource, or create a hook, in a phase.
struct Task {
  const ResourceState* resource = nullptr;  // null: a hook
  Json hook;                                // a hook's object, named
  ResourceKey key;
  SyncPhase phase = SyncPhase::kSync;
  int wave = 0;
  bool is_hook() const { return resource == nullptr; }
  bool prune() const { return resource && resource->requires_pruning; }
};

// Hooks go with what they started (a Job's Pods, a Workflow's steps).
kube::DeleteOptions hook_removal() {
  kube::DeleteOptions o;
  o.propagation = kube::Propagation::kBackground;
  return o;
}

bool same_task(const ResourceResult& r, const Task& t) { return r.phase == t.phase && r.key == t.key; }

bool selected(const SyncRequest& request, const ResourceKey& k) {
  if (request.only.empty()) return true;
  return std::any_of(request.only.begin(), request.only.end(), [&](const ResourceKey& o) {
    return o.kind == k.kind && o.group == k.group && o.name == k.name &&
           (o.namespace_.empty() || o.namespace_ == k.namespace_);
  });
}

// Every task of the operation, in the order they run: phase, wave, then prunes after the
// wave's applies, then Argo CD's kind order. PruneLast: prunes after the Sync phase's last wave.
std::vector<Task> plan(const std::string& app, const Comparison& comparison, const SyncRequest& request,
                       const SyncProgress& progress) {
  std::vector<Task> tasks;
  for (const auto& r : comparison.resources) {
    if (!selected(request, r.key)) continue;
    Task t;
    t.resource = &r;
    t.key = r.key;
    t.wave = r.wave;
    tasks.push_back(std::move(t));
  }
  if (request.prune_last) {
    int last = 0;
    for (const auto& t : tasks)
      if (!t.prune()) last = std::max(last, t.wave);
    for (auto& t : tasks)
      if (t.prune()) t.wave = last + 1;
  }
  bool run_hooks = !request.dry_run && request.only.empty();
  for (const Json& hook : comparison.hooks) {
    if (!run_hooks) break;
    for (SyncPhase phase : hook_phases(hook)) {
      Task t;
      t.hook = hook;
      t.phase = phase;
      t.wave = sync_wave(hook);
      Json& meta = t.hook["metadata"];
      if (meta.value("name", "").empty()) {
        meta["name"] = hook_name(meta.value("generateName", ""), progress.revision, phase, progress.started_unix);
        meta.erase("generateName");
      }
      t.key = key_of(t.hook);
      if (!meta.contains("annotations") || !meta["annotations"].is_object()) meta["annotations"] = Json::object();
      meta["annotations"][kTrackingAnnotation] = tracking_id(app, t.key);
      tasks.push_back(std::move(t));
    }
  }
  std::stable_sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) {
    if (a.phase != b.phase) return a.phase < b.phase;
    if (a.wave != b.wave) return a.wave < b.wave;
    if (a.prune() != b.prune()) return !a.prune();
    return kind_rank(a.key.kind) < kind_rank(b.key.kind);
  });
  return tasks;
}

class Operation {
 public:
  Operation(const SyncRequest& request, const Destinations& d, std::vector<Task> tasks, SyncOutcome* out)
      : request_(request), d_(d), tasks_(std::move(tasks)), out_(*out) {}

  void run(bool terminating);

 private:
  ResourceResult* result_of(const Task& t) {
    for (auto& r : out_.results)
      if (same_task(r, t)) return &r;
    return nullptr;
  }
  const Task* task_of(const ResourceResult& r) const {
    for (const auto& t : tasks_)
      if (same_task(r, t)) return &t;
    return nullptr;
  }
  void finish(const std::string& phase, const std::string& message);
  void update_running(bool multi_step);
  bool waiting();
  void apply(const Task& t, bool wait);
  void create_namespace();

  const SyncRequest& request_;
  const Destinations& d_;
  std::vector<Task> tasks_;
  SyncOutcome& out_;
  std::string deleting_;  // a hook whose previous one is still going away
};

void Operation::finish(const std::string& phase, const std::string& message) {
  out_.phase = phase;
  out_.ok = phase != "Failed";
  out_.message = message;
  // Completed hooks go as their delete policy says.
  for (const auto& r : out_.results) {
    const Task* t = task_of(r);
    if (!t || !t->is_hook() || r.hook_phase == "Running") continue;
    HookDeletePolicy policy = hook_delete_policy(t->hook);
    if (!(out_.ok ? policy.on_success : policy.on_failure)) continue;
    if (auto api = target_for(t->key, d_)) (void)(*api)->remove(ref_of_key(t->key), t->key.namespace_, hook_removal());
  }
}

// What the last step left running: a hook until it completes (a Job, Pod or Workflow
// finishes; anything else once it is healthy), a resource — when the operation has several
// waves — until it is Healthy (Degraded fails it), a pruned one until it is gone.
void Operation::update_running(bool multi_step) {
  for (auto& r : out_.results) {
    if (r.hook_phase != "Running") continue;
    auto api = target_for(r.key, d_);
    if (!api) continue;
    auto live = (*api)->get(ref_of_key(r.key), r.key.namespace_);
    if (r.status == "Pruned") {
      if (!live || object_member(*live, "metadata").value("deletionTimestamp", "").empty()) r.hook_phase = "Succeeded";
      continue;
    }
    if (!live) continue;  // not there yet (or gone): Argo CD waits too
    bool hook = !r.hook_type.empty();
    std::optional<Health> h = hook ? assess_health(*live) : resource_health(*live, request_.application_health);
    if (!h || h->status == HealthStatus::kHealthy) {
      r.hook_phase = "Succeeded";
      if (h && !h->message.empty() && hook) r.message = h->message;
    } else if (h->status == HealthStatus::kDegraded) {
      r.hook_phase = "Failed";
      r.message = h->message.empty() ? short_name(r.key) + " is degraded" : h->message;
    } else if (!hook && !multi_step) {
      r.hook_phase = "Succeeded";  // a one-wave sync is an apply: it does not wait
    }
  }
}

// Whether something still runs; if so, says what it waits for, in Argo CD's words.
bool Operation::waiting() {
  std::vector<const ResourceResult*> running;
  for (const auto& r : out_.results)
    if (r.hook_phase == "Running") running.push_back(&r);
  if (running.empty()) return false;
  const ResourceResult& first = *running[0];
  bool hook = !first.hook_type.empty();
  const char* what = hook ? "completion of hook " : first.status == "Pruned" ? "deletion of " : "healthy state of ";
  std::string message = std::string("waiting for ") + what + first.key.group + "/" + first.key.kind + "/" + first.key.name;
  if (running.size() > 1)
    message += " and " + std::to_string(running.size() - 1) + " more " + (hook ? "hooks" : "resources");
  out_.phase = "Running";
  out_.ok = true;
  out_.message = message;
  return true;
}

void Operation::create_namespace() {
  if (!request_.create_namespace || !d_.cluster || request_.destination_namespace.empty()) return;
  ResourceKey ns{"", "v1", "Namespace", "", request_.destination_namespace};
  auto live = d_.cluster->get(ref_of_key(ns), "");
  if (live || live.status().code() != Code::kNotFound) return;
  Json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns.name}}}};
  if (!request_.namespace_labels.empty()) object["metadata"]["labels"] = request_.namespace_labels;
  if (!request_.namespace_annotations.empty()) object["metadata"]["annotations"] = request_.namespace_annotations;
  auto made = request_.dry_run ? Result<Json>(object) : d_.cluster->create(object, "");
  ResourceResult r{
      .key = ns, .status = "Synced", .message = "namespace/" + ns.name + " created", .phase = SyncPhase::kPreSync};
  if (!made && made.status().code() != Code::kAlreadyExists) {
    r.status = "SyncFailed";
    r.message = "namespace/" + ns.name + ": " + made.status().message();
    r.hook_phase = "Failed";
  }
  out_.results.push_back(r);
}

// Applies, prunes or creates one task; `wait`: its result is Running until update_running
// sees it done.
void Operation::apply(const Task& t, bool wait) {
  const std::string name = short_name(t.key);
  ResourceResult r{t.key, "Synced", "", t.wave, t.phase, t.is_hook() ? phase_name(t.phase) : "", "Succeeded"};
  auto failed = [&](std::string message) {
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
    r.status = "SyncFailed";
    r.hook_phase = "Failed";
    r.message = name + ": " + message;
    out_.results.push_back(r);
  };
  auto api = target_for(t.key, d_);
  if (!api) return failed(api.status().message());
  if (t.is_hook()) {
    auto live = (*api)->get(ref_of_key(t.key), t.key.namespace_);
    HookDeletePolicy policy = hook_delete_policy(t.hook);
    if (live && policy.before_creation) {
      Status st = (*api)->remove(ref_of_key(t.key), t.key.namespace_, hook_removal());
      if (!st && st.code() != Code::kNotFound) return failed(st.message());
      live = Status(Code::kNotFound, "");
    }
    auto made = live ? (*api)->apply(t.hook, t.key.namespace_, kube::ApplyOptions{kFieldManager, true})
                     : (*api)->create(t.hook, t.key.namespace_);
    if (!made && made.status().code() == Code::kAlreadyExists) {  // the old one is still being deleted
      deleting_ = t.key.group + "/" + t.key.kind + "/" + t.key.name;
      return;
    }
    if (!made) return failed(made.status().message());
    r.message = name + (live ? " configured" : " created");
    r.hook_phase = "Running";
    out_.results.push_back(r);
    return;
  }
  const ResourceState& s = *t.resource;
  if (s.requires_pruning) {
    if (!request_.prune || has_option(s.live, "Prune=false")) {
      r.status = "PruneSkipped";
      r.message = name + (request_.prune ? " kept (Prune=false)" : " ignored (requires pruning)");
      out_.results.push_back(r);
      return;
    }
    kube::DeleteOptions remove;
    remove.propagation = request_.prune_propagation;
    Status st = request_.dry_run ? Status::ok() : (*api)->remove(ref_of_key(t.key), t.key.namespace_, remove);
    if (!st && st.code() != Code::kNotFound) return failed(st.message());
    r.status = "Pruned";
    r.message = name + " pruned";
    if (wait && !request_.dry_run) r.hook_phase = "Running";  // until it is gone
    out_.results.push_back(r);
    return;
  }
  if (request_.fail_on_shared && !s.shared_with.empty()) {
    r.status = "SyncFailed";
    r.hook_phase = "Failed";
    r.message = name + " is part of application " + s.shared_with + " (FailOnSharedResource=true)";
    out_.results.push_back(r);
    return;
  }
  if (request_.apply_out_of_sync_only && s.status == "Synced") {
    r.message = name + " unchanged";
    out_.results.push_back(r);
    return;
  }
  Result<Json> applied = Json();
  const char* verb = s.live.is_null() ? "created" : "configured";
  if (request_.dry_run) {
    verb = s.live.is_null() ? "created (dry run)" : "configured (dry run)";
  } else if (request_.replace) {
    applied = s.live.is_null() ? (*api)->create(s.target, t.key.namespace_)
                               : (*api)->replace(s.target, t.key.namespace_);
  } else {
    kube::ApplyOptions options;
    options.field_manager = kFieldManager;
    options.force = !request_.server_side_apply;  // client-side apply semantics: the manifest wins
    applied = (*api)->apply(s.target, t.key.namespace_, options);
  }
  if (!applied) return failed(applied.status().message());
  r.message = name + " " + (s.status == "Synced" ? "unchanged" : verb);
  if (wait && !request_.dry_run) r.hook_phase = "Running";
  out_.results.push_back(r);
}

void Operation::run(bool terminating) {
  if (terminating) {  // running hooks are deleted; the operation fails
    for (auto& r : out_.results) {
      if (r.hook_phase != "Running" || r.hook_type.empty()) continue;
      if (auto api = target_for(r.key, d_)) (void)(*api)->remove(ref_of_key(r.key), r.key.namespace_, hook_removal());
      r.hook_phase = "Failed";
      r.message = short_name(r.key) + " deleted: the operation was terminated";
    }
    out_.phase = "Failed";
    out_.ok = false;
    out_.message = "operation terminated";
    return;
  }
  if (out_.results.empty()) create_namespace();
  // Several phases or waves: a wave waits for the one before it.
  bool multi_step = std::any_of(tasks_.begin(), tasks_.end(), [&](const Task& t) {
    return t.phase != SyncPhase::kSyncFail && (t.phase != tasks_[0].phase || t.wave != tasks_[0].wave);
  });
  for (;;) {
    update_running(multi_step);
    if (waiting()) return;
    std::vector<const ResourceResult*> failures;
    for (const auto& r : out_.results)
      if (r.phase != SyncPhase::kSyncFail && r.hook_phase == "Failed") failures.push_back(&r);
    std::vector<const Task*> pending;
    for (const auto& t : tasks_)
      if (!result_of(t) && (t.phase == SyncPhase::kSyncFail) == !failures.empty()) pending.push_back(&t);
    if (!failures.empty() && pending.empty()) {
      bool applying = std::any_of(failures.begin(), failures.end(),
                                  [](const ResourceResult* r) { return r->status == "SyncFailed"; });
      std::string message = applying ? "one or more objects failed to apply"
                                     : "one or more synchronization tasks completed unsuccessfully";
      message += ", reason: ";
      for (size_t i = 0; i < failures.size(); ++i) message += (i ? "," : "") + failures[i]->message;
      return finish("Failed", message);
    }
    if (pending.empty()) return finish("Succeeded", "successfully synced (all tasks run)");
    // The next wave: every pending task of the first pending phase and wave.
    SyncPhase phase = pending[0]->phase;
    int wave = pending[0]->wave;
    bool last = std::all_of(pending.begin(), pending.end(),
                            [&](const Task* t) { return t->phase == phase && t->wave == wave; });
    for (const Task* t : pending)
      if (t->phase == phase && t->wave == wave) apply(*t, multi_step && !last);
    if (!deleting_.empty()) {
      out_.phase = "Running";
      out_.message = "waiting for deletion of hook " + deleting_;
      return;
    }
  }
}

}  // namespace

SyncOutcome sync(const std::string& app_name, const Comparison& comparison, const SyncRequest& request,
                 const Destinations& destinations, const SyncProgress& progress) {
  SyncOutcome out;
  out.results = progress.results;
  Operation operation(request, destinations, plan(app_name, comparison, request, progress), &out);
  operation.run(progress.terminating);
  return out;
}

}  // namespace skiff::cd
