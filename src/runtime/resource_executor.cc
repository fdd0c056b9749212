#include "runtime/resource_executor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "kube/jsonpath.h"
#include "runtime/fd.h"
#include "runtime/jq_filter.h"
#include "runtime/resource_action.h"
#include "runtime/resource_condition.h"

namespace skiff::runtime {

using Json = nlohmann::json;
using detail::ResourceAction;

namespace {

constexpr size_t kMaxLog = 64 * 1024;  // a step's log kept in memory
// Condition polls: 50 ms doubling to a second on a cluster's API server, to 200 ms on
// skiff's own objects (a read of its store).
constexpr int kFirstPollMs = 50, kMaxPollMs = 1000, kMaxLocalPollMs = 200;
constexpr size_t kMaxThreads = 256;
// Argo CD's namespace: a pipeline's deploy step creates its Application there (as the
// reference setup's does), whatever namespace its workflow runs in.
constexpr const char* kArgoCdNamespace = "argocd";  // resource steps carried out at once; the rest wait their turn

std::string log_key(const std::string& namespace_, const std::string& workflow, const std::string& node_id) {
  return namespace_ + "/" + workflow + "/" + node_id;
}

// "created", "configured", ... as kubectl says what it did.
const char* done_word(const std::string& action) {
  if (action == "create") return "created";
  if (action == "apply") return "configured";
  if (action == "replace") return "replaced";
  if (action == "patch") return "patched";
  if (action == "delete") return "deleted";
  return "read";
}

}  // namespace

struct ResourceExecutor::Impl {
  struct Job {
    StepRequest request;
    std::shared_ptr<const WorkflowContext> workflow;
    std::atomic<bool> cancelled{false};
    std::string kill_reason;  // guarded by mu
    std::thread thread;
    bool done = false;  // guarded by mu
  };

  // Starts the job's thread (mu held).
  void launch(Job& job) {
    ++threads;
    job.thread = std::thread([this, &job] { run(job); });
  }

  std::unique_ptr<Executor> inner;
  ResourceTargets targets;
  mutable std::mutex mu;
  std::condition_variable cancel_cv;  // wakes a job's poll sleep when it is killed
  std::list<Job> jobs;
  std::deque<Job*> waiting;  // beyond kMaxThreads (guarded by mu)
  size_t threads = 0;        // jobs whose thread has not ended (guarded by mu)
  std::vector<StepResult> results;
  std::vector<StepStarted> started;
  std::map<std::string, std::string> logs;  // log_key -> text
  std::set<std::string> live_logs;          // keys of steps still running
  Fd own_interrupt;
  int interrupt_fd = -1;
  std::shared_ptr<const WorkflowContext> default_workflow = std::make_shared<WorkflowContext>();

  ~Impl() {
    for (auto& job : jobs) job.cancelled = true;
    cancel_cv.notify_all();
    for (auto& job : jobs)
      if (job.thread.joinable()) job.thread.join();
  }

  void log(const Job& job, const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    std::string& text = logs[log_key(job.workflow->namespace_, job.workflow->name, job.request.node_id)];
    if (text.size() + line.size() + 1 > kMaxLog) return;
    text += line;
    text += '\n';
  }

  // Where a step on `ref` acts, or why it cannot.
  Result<kube::ObjectApi*> target_for(const kube::ObjectRef& ref) {
    if (detail::is_skiff_kind(ref) || (!targets.cluster && detail::is_local_capable_kind(ref))) {
      if (!targets.local) return invalid(ref.kind + " objects are skiff's own, and nothing serves them here");
      return targets.local.get();
    }
    if (!targets.cluster)
      return invalid("no cluster configured: " + ref.kind + " " + ref.name + " lives on Kubernetes, and skiff keeps only "
                     "Workflows, WorkflowTemplates, CronWorkflows, ConfigMaps and Secrets itself; " + targets.no_cluster_hint);
    return targets.cluster.get();
  }

  // Sleeps `ms`, or less when the job is killed; false when it was.
  bool pause(Job& job, int ms) {
    std::unique_lock<std::mutex> lock(mu);
    cancel_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return job.cancelled.load(); });
    return !job.cancelled;
  }

  void run(Job& job) {
    StepResult r;
    r.node_id = job.request.node_id;
    Status st = carry_out(job, &r);
    if (job.cancelled) {
      std::lock_guard<std::mutex> lock(mu);
      r.exit_code = -1;
      r.error = false;
      r.message = job.kill_reason;
    } else if (!st) {
      r.exit_code = 1;
      r.message = st.message();
      while (!r.message.empty() && std::isspace(static_cast<unsigned char>(r.message.back()))) r.message.pop_back();
      log(job, st.message());
    }
    finish(job, std::move(r));
  }

  void finish(Job& job, StepResult r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      live_logs.erase(log_key(job.workflow->namespace_, job.workflow->name, job.request.node_id));
      results.push_back(std::move(r));
      job.done = true;
      --threads;
      if (!waiting.empty()) {
        Job* next = waiting.front();
        waiting.pop_front();
        launch(*next);
      }
    }
    uint64_t one = 1;
    (void)!::write(interrupt_fd, &one, sizeof one);
  }

  Status carry_out(Job& job, StepResult* r) {
    if (job.cancelled) return Status::ok();  // killed while it waited for a thread
    const spec::Template& t = job.request.tmpl;
    const spec::Resource& res = *t.resource;
    Json owner;
    if (res.set_owner_reference) {
      owner = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Workflow"}, {"name", job.workflow->name},
               {"uid", job.workflow->uid}, {"controller", true}, {"blockOwnerDeletion", true}};
    }
    auto planned = detail::plan_resource_action(res, job.workflow->namespace_, owner);
    if (!planned) return planned.status();
    ResourceAction& a = *planned;
    auto target = target_for(a.ref);
    if (!target) return target.status();
    kube::ObjectApi& api = **target;
    if (&api == targets.local.get()) {
      // skiff's namespaces are its tenants' boundary: a step reaches its own namespace only.
      const std::string ns = a.ref.namespace_.empty() ? a.default_namespace : a.ref.namespace_;
      if (a.ref.kind == "ClusterWorkflowTemplate") {
        if (a.action != "get")
          return invalid(a.action + " ClusterWorkflowTemplate " + a.ref.name +
                         ": resource steps may read cluster-wide templates, not change them (that is for the API)");
      } else if (ns != job.workflow->namespace_ &&
                 !((a.ref.kind == "Application" || a.ref.kind == "AppProject") && ns == kArgoCdNamespace)) {
        return invalid(a.action + " " + a.ref.kind + " " + ns + "/" + a.ref.name +
                       ": a resource step acts on skiff's own kinds in its workflow's namespace (" +
                       job.workflow->namespace_ + ") only, and on Applications in " + kArgoCdNamespace);
      }
    }
    if (res.set_owner_reference && api_is_cluster(api))
      return invalid("setOwnerReference on " + a.ref.kind + " " + a.ref.name +
                     ": the workflow is skiff's, not the cluster's, and Kubernetes' garbage collector deletes an object "
                     "whose owner it cannot find; drop setOwnerReference (skiff's own kinds take it)");
    // Conditions are checked before anything is done, so a typo fails the step up front.
    std::optional<Condition> success, failure;
    if (!res.success_condition.empty()) {
      auto c = Condition::parse(res.success_condition, "successCondition");
      if (!c) return c.status();
      success = std::move(*c);
    }
    if (!res.failure_condition.empty()) {
      auto c = Condition::parse(res.failure_condition, "failureCondition");
      if (!c) return c.status();
      failure = std::move(*c);
    }

    Result<Json> object = act(api, a, job.request.adopt);
    std::string what = a.ref.kind + " " + (a.ref.namespace_.empty() ? "" : a.ref.namespace_ + "/") + a.ref.name;
    if (!object) {
      // The cluster's client names the action and the object; skiff's own kinds get the same.
      if (api_is_cluster(api)) return object.status();
      return Status(object.status().code(), a.action + " " + what + ": " + object.status().message());
    }
    if (object->is_object()) {
      kube::ObjectRef got = kube::ref_of(*object);
      if (!got.name.empty()) a.ref.name = got.name;
      if (!got.namespace_.empty()) a.ref.namespace_ = got.namespace_;
      what = a.ref.kind + " " + (a.ref.namespace_.empty() ? "" : a.ref.namespace_ + "/") + a.ref.name;
    }
    log(job, what + " " + done_word(a.action));
    if (a.action == "delete") return outputs(job, Json(), r);

    if (success || failure) {
      log(job, "waiting for " + std::string(success ? "successCondition " + success->text() : "") +
                   (success && failure ? " or " : "") + (failure ? "failureCondition " + failure->text() : ""));
      int interval = kFirstPollMs;
      const int max_interval = api_is_cluster(api) ? kMaxPollMs : kMaxLocalPollMs;
      for (bool first = true;; first = false) {
        if (!first) {
          auto again = api.get(a.ref, a.default_namespace);
          if (!again) {
            if (again.status().code() == Code::kUnavailable) {  // transient: try again
              if (!pause(job, interval)) return Status::ok();
              continue;
            }
            if (again.status().code() == Code::kNotFound)
              return Status(Code::kFailed, what + " was deleted while its status was still being checked");
            return again.status();
          }
          object = std::move(again);
        }
        if (failure) {
          std::vector<Condition::Outcome> outcomes = failure->evaluate(*object);
          for (size_t i = 0; i < outcomes.size(); ++i) {
            if (!outcomes[i].matched) continue;
            std::string message = "failure condition '" + describe(failure->requirements()[i]) + "' evaluated true";
            log(job, message + ": " + outcomes[i].detail);
            return Status(Code::kFailed, message);
          }
        }
        if (!success || success->all_match(*object)) {
          log(job, success ? "success condition '" + success->text() + "' evaluated true" : "failure condition did not hold");
          break;
        }
        if (!pause(job, interval)) return Status::ok();
        interval = std::min(interval * 2, max_interval);
      }
    }
    return outputs(job, *object, r);
  }

  bool api_is_cluster(const kube::ObjectApi& api) const { return targets.cluster && &api == targets.cluster.get(); }

  Result<Json> act(kube::ObjectApi& api, ResourceAction& a, bool adopt) {
    const std::string& ns = a.default_namespace;
    if (a.action == "get") return api.get(a.ref, ns);
    if (a.action == "create") {
      auto created = api.create(a.object, ns);
      // A step taken up again after a restart may have created it before.
      if (!created && adopt && created.status().code() == Code::kAlreadyExists && !a.ref.name.empty())
        return api.get(a.ref, ns);
      return created;
    }
    if (a.action == "apply") return api.apply(a.object, ns, a.apply);
    if (a.action == "replace") return api.replace(a.object, ns);
    if (a.action == "patch") return api.patch(a.ref, ns, a.patch_type, a.object.dump());
    Status st = api.remove(a.ref, ns, a.remove);
    if (!st && st.code() != Code::kNotFound) return st;  // kubectl delete --ignore-not-found
    return Json();
  }

  // outputs.parameters from valueFrom.jsonPath / jqFilter over the object (Argo reads the
  // object again; the last one read is as fresh).
  Status outputs(Job& job, const Json& object, StepResult* r) {
    for (const auto& p : job.request.tmpl.outputs.parameters) {
      if (!p.value_from) continue;
      const spec::ValueFrom& v = *p.value_from;
      if (v.json_path.empty() && v.jq_filter.empty()) continue;
      // A key that is not there prints nothing, as with kubectl; with a default, the default.
      kube::JsonPathOptions jsonpath_options;
      jsonpath_options.allow_missing_keys = !v.default_value;
      Result<std::string> value = object.is_null() ? Result<std::string>(not_found("no object to read it from"))
                                  : !v.json_path.empty() ? kube::jsonpath(v.json_path, object, jsonpath_options)
                                                         : jq_filter(v.jq_filter, object.dump());
      if (!value) {
        if (v.default_value) continue;  // the engine takes the default
        return Status(Code::kFailed, "output parameter \"" + p.name + "\": " + value.status().message());
      }
      r->output_parameters[p.name] = *value;
    }
    return Status::ok();
  }
};

void check_resource_templates(const spec::Object& object, Diagnostics& out) {
  for (size_t i = 0; i < object.spec.templates.size(); ++i) {
    const spec::Template& t = object.spec.templates[i];
    if (!t.resource) continue;
    std::string path = "spec.templates[" + std::to_string(i) + "]";
    const SourcePos& pos = t.resource->pos.line ? t.resource->pos : t.pos;
    for (const auto& [text, what] : {std::pair{&t.resource->success_condition, "successCondition"},
                                     std::pair{&t.resource->failure_condition, "failureCondition"}}) {
      if (text->empty() || text->find("{{") != std::string::npos) continue;
      if (auto c = Condition::parse(*text, what); !c) out.push_back({pos, path + ".resource." + what, c.status().message()});
    }
    for (size_t j = 0; j < t.outputs.parameters.size(); ++j) {
      const auto& v = t.outputs.parameters[j].value_from;
      if (!v || v->json_path.empty() || v->json_path.find("{{") != std::string::npos) continue;
      if (Status st = kube::check_jsonpath(v->json_path); !st)
        out.push_back({pos, path + ".outputs.parameters[" + std::to_string(j) + "].valueFrom.jsonPath", st.message()});
    }
  }
}

ResourceExecutor::ResourceExecutor(std::unique_ptr<Executor> inner, ResourceTargets targets)
    : impl_(std::make_unique<Impl>()) {
  impl_->inner = std::move(inner);
  impl_->targets = std::move(targets);
  impl_->own_interrupt = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  impl_->interrupt_fd = impl_->own_interrupt.get();
  impl_->inner->set_interrupt_fd(impl_->interrupt_fd);
}

ResourceExecutor::~ResourceExecutor() = default;

void ResourceExecutor::set_local(std::shared_ptr<kube::ObjectApi> local) { impl_->targets.local = std::move(local); }

void ResourceExecutor::start(StepRequest request) {
  if (request.tmpl.type != spec::TemplateType::kResource || !request.tmpl.resource) {
    impl_->inner->start(std::move(request));
    return;
  }
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  // Threads of steps that ended are joined here, on the owner's thread.
  for (auto it = m.jobs.begin(); it != m.jobs.end();) {
    if (it->done && it->thread.joinable()) {
      it->thread.join();
      it = m.jobs.erase(it);
    } else {
      ++it;
    }
  }
  Impl::Job& job = m.jobs.emplace_back();
  job.workflow = request.workflow ? request.workflow : m.default_workflow;
  job.request = std::move(request);
  std::string key = log_key(job.workflow->namespace_, job.workflow->name, job.request.node_id);
  m.logs[key].clear();
  m.live_logs.insert(key);
  m.started.push_back({job.request.node_id, ""});
  if (m.threads < kMaxThreads) m.launch(job);
  else m.waiting.push_back(&job);
}

void ResourceExecutor::kill(const std::string& node_id, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& job : impl_->jobs) {
      if (job.request.node_id != node_id || job.done) continue;
      job.kill_reason = reason;
      job.cancelled = true;
      impl_->cancel_cv.notify_all();
      return;
    }
  }
  impl_->inner->kill(node_id, reason);
}

std::vector<StepResult> ResourceExecutor::wait(int timeout_ms) {
  auto take = [this] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return std::exchange(impl_->results, {});
  };
  std::vector<StepResult> out = take();
  std::vector<StepResult> more = impl_->inner->wait(out.empty() ? timeout_ms : 0);
  if (impl_->own_interrupt.valid() && impl_->interrupt_fd == impl_->own_interrupt.get()) {
    uint64_t n;
    (void)!::read(impl_->interrupt_fd, &n, sizeof n);
  }
  for (auto& r : take()) out.push_back(std::move(r));
  for (auto& r : more) out.push_back(std::move(r));
  return out;
}

size_t ResourceExecutor::running() const {
  size_t n = impl_->inner->running();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& job : impl_->jobs) n += job.done ? 0 : 1;
  return n + impl_->results.size();  // ended, and not yet reported by wait()
}

std::vector<StepStarted> ResourceExecutor::take_started() {
  std::vector<StepStarted> out = impl_->inner->take_started();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& s : impl_->started) out.push_back(std::move(s));
  impl_->started.clear();
  return out;
}

void ResourceExecutor::set_interrupt_fd(int fd) {
  // The owner drains its fd; steps that end ring it. Without one, our own (drained in wait()).
  impl_->interrupt_fd = fd >= 0 ? fd : impl_->own_interrupt.get();
  impl_->inner->set_interrupt_fd(impl_->interrupt_fd);
}

Status ResourceExecutor::open_workflow(WorkflowContext* context) { return impl_->inner->open_workflow(context); }

void ResourceExecutor::release_workflow(const std::string& namespace_, const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::string prefix = log_key(namespace_, name, "");
    for (auto it = impl_->logs.lower_bound(prefix); it != impl_->logs.end() && it->first.rfind(prefix, 0) == 0;)
      it = impl_->logs.erase(it);
  }
  impl_->inner->release_workflow(namespace_, name);
}

void ResourceExecutor::workflow_ended(const WorkflowContext& workflow, bool succeeded) {
  impl_->inner->workflow_ended(workflow, succeeded);
}

void ResourceExecutor::collect_artifacts(const WorkflowContext& workflow, std::vector<std::string> artifacts) {
  impl_->inner->collect_artifacts(workflow, std::move(artifacts));
}

Result<LogChunk> ResourceExecutor::read_log(const LogRef& ref, uint64_t offset, size_t max) const {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::string key = log_key(ref.namespace_, ref.workflow, ref.node_id);
    auto it = impl_->logs.find(key);
    if (it != impl_->logs.end()) {
      LogChunk chunk;
      if (offset < it->second.size()) chunk.data = it->second.substr(offset, max);
      chunk.more = impl_->live_logs.count(key) > 0;
      return chunk;
    }
  }
  return impl_->inner->read_log(ref, offset, max);
}

}  // namespace skiff::runtime
