#include "runtime/kube_executor.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "kube/client.h"
#include "net/http_client.h"
#include "runtime/fd.h"
#include "runtime/step_files.h"
#include "util/strings.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// How long main may have ended before `wait` has: past this, the outputs are read anyway
// (the emissary in main was killed with its step, so `wait` never hears of it).
constexpr int64_t kWaitGraceMs = 10000;

std::string pod_path(const std::string& ns, const std::string& pod) {
  return "/api/v1/namespaces/" + net::url_escape(ns) + "/pods/" + net::url_escape(pod);
}

// podGC as the workflow spec writes it.
struct PodGc {
  std::string strategy;  // "" (keep), OnPodCompletion, OnPodSuccess, OnWorkflowCompletion, OnWorkflowSuccess
  int64_t delay_ms = 0;
  std::string selector;  // labelSelector as a label selector string ("" = every pod)
};

PodGc pod_gc_of(const WorkflowContext& wf) {
  PodGc gc;
  if (wf.pod_gc_json.empty()) return gc;
  Json j = Json::parse(wf.pod_gc_json, nullptr, false);
  if (!j.is_object()) return gc;
  gc.strategy = j.value("strategy", "");
  if (j.contains("deleteDelayDuration") && j["deleteDelayDuration"].is_string())
    gc.delay_ms = std::max<int64_t>(0, parse_duration_ms(j["deleteDelayDuration"].get<std::string>()));
  if (j.contains("labelSelector") && j["labelSelector"].is_object()) {
    const Json& s = j["labelSelector"];
    std::vector<std::string> parts;
    if (s.contains("matchLabels") && s["matchLabels"].is_object())
      for (auto it = s["matchLabels"].begin(); it != s["matchLabels"].end(); ++it)
        if (it.value().is_string()) parts.push_back(it.key() + "=" + it.value().get<std::string>());
    if (s.contains("matchExpressions") && s["matchExpressions"].is_array()) {
      for (const auto& e : s["matchExpressions"]) {
        std::string key = e.value("key", ""), op = e.value("operator", "");
        std::string values;
        for (const auto& v : e.value("values", Json::array())) values += (values.empty() ? "" : ",") + v.get<std::string>();
        if (op == "In") parts.push_back(key + " in (" + values + ")");
        else if (op == "NotIn") parts.push_back(key + " notin (" + values + ")");
        else if (op == "Exists") parts.push_back(key);
        else if (op == "DoesNotExist") parts.push_back("!" + key);
      }
    }
    for (const auto& p : parts) gc.selector += (gc.selector.empty() ? "" : ",") + p;
  }
  return gc;
}

// Whether an executor confined to namespace `managed` ("" = none) runs Pods in `ns`.
bool is_managed(const std::string& managed, const std::string& ns) { return managed.empty() || ns == managed; }

// Why a workflow in `ns` cannot run on an executor confined to `managed` ("" = it can).
std::string outside_managed(const std::string& managed, const std::string& ns) {
  if (is_managed(managed, ns)) return "";
  return "workflow namespace " + ns + " is not managed: skiff runs Pods only in namespace " + managed +
         " (--managed-namespace " + managed + "); submit the workflow to " + managed +
         ", or run a server per namespace, or drop --managed-namespace and give skiff a ClusterRole (deploy/rbac.yaml)";
}

class KubeExecutor final : public Executor {
 public:
  KubeExecutor(ExecutorOptions options, KubeOptions kube);
  ~KubeExecutor() override;

  void start(StepRequest request) override;
  void kill(const std::string& node_id, const std::string& reason) override;
  std::vector<StepResult> wait(int timeout_ms) override;
  size_t running() const override { return steps_.size(); }
  std::vector<StepStarted> take_started() override { return std::exchange(started_, {}); }
  void set_interrupt_fd(int fd) override { interrupt_fd_ = fd; }
  Status open_workflow(WorkflowContext* context) override;
  void release_workflow(const std::string& namespace_, const std::string& name) override;
  void workflow_ended(const WorkflowContext& workflow, bool succeeded) override;
  Result<LogChunk> read_log(const LogRef& ref, uint64_t offset, size_t max) const override;

 private:
  struct Event {
    enum Kind { kPod, kCreateFailed, kFetched } kind = kPod;
    std::string node_id;
    std::string type;  // kPod: ADDED, MODIFIED, DELETED
    Json pod;
    Status status;
    StepResult result;
    std::string main_log;  // kFetched with a log sink: main's whole log

    static Event seen(std::string node_id, std::string type, Json pod) {
      Event e;
      e.node_id = std::move(node_id);
      e.type = std::move(type);
      e.pod = std::move(pod);
      return e;
    }
    static Event create_failed(std::string node_id, Status status) {
      Event e;
      e.kind = kCreateFailed;
      e.node_id = std::move(node_id);
      e.status = std::move(status);
      return e;
    }
    static Event fetched(std::string node_id, StepResult result) {
      Event e;
      e.kind = kFetched;
      e.node_id = std::move(node_id);
      e.result = std::move(result);
      return e;
    }
  };
  struct Step {
    std::string node_id, ns, pod, uid;
    std::shared_ptr<const WorkflowContext> workflow;
    bool daemon = false;
    bool has_inputs = false;  // its input artifacts' Secret is to go when it ends
    bool started = false;
    bool fetching = false;
    bool deleting = false;
    int64_t main_done_ms = 0;
    std::string kill_reason;
  };
  struct LogPlace {
    std::string ns, pod;
    std::string file;  // its copy on this machine, once it ended
    bool ended = false;
  };

  void post(Event e);
  void queue_job(std::function<void()> job, int64_t not_before_ms = 0);
  void work();
  void watch_pods();
  void create(StepRequest request);
  // Reads the ended step's outputs (a job); with no `state`, the job reads the Pod first.
  void fetch(Step& s, std::optional<PodState> state);
  void remove_pod(const std::string& ns, const std::string& pod, int64_t grace_s, int64_t delay_ms = 0);
  // Deletes (in the background, after `delay_ms`) the objects of `kind` ("Pod",
  // "PersistentVolumeClaim", "Secret") in `ns` that `selector` selects.
  void delete_labelled(const std::string& kind, const std::string& ns, const std::string& selector, int64_t delay_ms);
  void apply(Event& e);
  Status make_claims(const StepRequest& request);
  void delete_claims(const std::string& ns, const std::string& workflow);
  void finish(Step& s, StepResult result);
  Result<ImageCommand> image_command(const std::string& image);
  bool managed(const std::string& ns) const { return is_managed(kube_.managed_namespace, ns); }

  ExecutorOptions options_;
  KubeOptions kube_;
  std::shared_ptr<const WorkflowContext> default_workflow_;
  int interrupt_fd_ = -1;
  int event_fd_ = -1;

  // The run loop's own.
  std::map<std::string, Step> steps_;          // running, by node id
  std::map<std::string, std::string> by_pod_;  // "ns/pod" -> node id
  std::vector<StepResult> ready_;
  std::vector<StepStarted> started_;

  std::mutex mu_;  // guards events_, jobs_, stopping_
  std::deque<Event> events_;
  struct Job {
    int64_t not_before_ms;
    std::function<void()> fn;
  };
  std::deque<Job> jobs_;
  std::condition_variable jobs_cv_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
  std::thread watcher_;

  std::mutex claims_mu_;
  std::set<std::string> claims_;  // "ns/claim" made (or found) this run

  std::mutex images_mu_;
  std::map<std::string, ImageCommand> images_;

  mutable std::mutex logs_mu_;
  std::map<std::string, LogPlace> logs_;  // by node id
};

KubeExecutor::KubeExecutor(ExecutorOptions options, KubeOptions kube)
    : options_(std::move(options)), kube_(std::move(kube)) {
  auto wf = std::make_shared<WorkflowContext>(options_.workflow);
  if (wf->run_dir.empty()) wf->run_dir = options_.run_dir;
  default_workflow_ = std::move(wf);
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  for (int i = 0; i < std::max(1, kube_.api_threads); ++i) workers_.emplace_back([this] { work(); });
  watcher_ = std::thread([this] { watch_pods(); });
}

KubeExecutor::~KubeExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // Calls due now (a last deletion) still go; later ones (podGC's delay) are dropped.
    int64_t now = now_ms();
    std::erase_if(jobs_, [now](const Job& j) { return j.not_before_ms > now; });
  }
  jobs_cv_.notify_all();
  for (auto& t : workers_) t.join();
  watcher_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

void KubeExecutor::post(Event e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
  }
  uint64_t one = 1;
  (void)!::write(event_fd_, &one, sizeof one);
}

void KubeExecutor::queue_job(std::function<void()> job, int64_t not_before_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back({not_before_ms, std::move(job)});
  }
  jobs_cv_.notify_one();
}

void KubeExecutor::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    int64_t now = now_ms(), next = -1;
    auto it = jobs_.begin();
    for (; it != jobs_.end(); ++it) {
      if (it->not_before_ms <= now) break;
      if (next < 0 || it->not_before_ms < next) next = it->not_before_ms;
    }
    if (it != jobs_.end()) {
      auto fn = std::move(it->fn);
      jobs_.erase(it);
      lock.unlock();
      fn();
      lock.lock();
      continue;
    }
    if (stopping_) return;
    if (next < 0) jobs_cv_.wait(lock);
    else jobs_cv_.wait_for(lock, std::chrono::milliseconds(next - now));
  }
}

void KubeExecutor::watch_pods() {
  while (!stopping_) {
    kube::WatchOptions w;
    w.label_selector = kWorkflowLabel;
    w.cancelled = [this] { return stopping_.load(); };
    w.max_reconnect_failures = 1000000;
    Status s = kube_.client->watch("v1", "Pod", kube_.managed_namespace, w, [this](const std::string& type, const Json& object) {
      if (type == "RELISTED") {
        for (const auto& item : object.value("items", Json::array())) post(Event::seen("", "MODIFIED", item));
      } else {
        post(Event::seen("", type, object));
      }
      return !stopping_.load();
    });
    if (!s && !stopping_) {
      std::fprintf(stderr, "skiff: kubernetes executor: watching pods: %s; trying again\n", s.message().c_str());
      kube::pause_unless_cancelled(2000, [this] { return stopping_.load(); });
    }
  }
}

Result<ImageCommand> KubeExecutor::image_command(const std::string& image) {
  {
    std::lock_guard<std::mutex> lock(images_mu_);
    auto it = images_.find(image);
    if (it != images_.end()) return it->second;
  }
  if (!kube_.image_lookup) return Status(Code::kUnavailable, "no registry settings to read it with");
  auto got = kube_.image_lookup(image);
  if (got) {
    std::lock_guard<std::mutex> lock(images_mu_);
    images_[image] = *got;
  }
  return got;
}

void KubeExecutor::create(StepRequest request) {
  const std::string node_id = request.node_id;
  const std::string ns = request.workflow->namespace_;
  const std::string name = request.pod_name;
  auto fail = [&](Status s) { post(Event::create_failed(node_id, std::move(s))); };
  kube::ObjectRef ref{"v1", "Pod", ns, name};
  if (request.adopt) {
    // Made by an earlier server: follow it (the watch reports it too; this is for one that
    // ended and whose events came before this step was known).
    auto existing = kube_.client->get(ref, ns);
    if (existing && existing->value("metadata", Json::object()).value("annotations", Json::object()).value(kStepAnnotation, "") == node_id) {
      post(Event::seen(node_id, "MODIFIED", *existing));
      return;
    }
  }
  auto pod = step_pod(request, kube_.pod, [this](const std::string& image) { return image_command(image); });
  if (!pod) return fail(pod.status());
  if (Status s = make_claims(request); !s) return fail(s);
  if (!request.extra_mounts.empty()) {
    auto secret = inputs_secret(request, kube_.pod.max_inputs);
    if (!secret) return fail(secret.status());
    kube::ApplyOptions apply;
    apply.force = true;
    if (auto made = kube_.client->apply(*secret, ns, apply); !made) return fail(made.status());
  }
  for (int attempt = 0;; ++attempt) {
    auto created = kube_.client->create(*pod, ns);
    if (created) {
      post(Event::seen(node_id, "ADDED", *created));
      return;
    }
    if (created.status().code() != Code::kAlreadyExists || attempt > 0) return fail(created.status());
    // A Pod of this name from another run of a workflow of the same name: it goes first.
    auto old = kube_.client->get(ref, ns);
    if (old && old->value("metadata", Json::object()).value("annotations", Json::object()).value(kStepAnnotation, "") == node_id) {
      post(Event::seen(node_id, "MODIFIED", *old));
      return;
    }
    kube::DeleteOptions del;
    del.grace_period_seconds = 0;
    (void)kube_.client->remove(ref, ns, del);
    for (int i = 0; i < 600 && !stopping_; ++i) {
      auto still = kube_.client->get(ref, ns);
      if (!still && still.status().code() == Code::kNotFound) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

Status KubeExecutor::make_claims(const StepRequest& request) {
  const WorkflowContext& wf = *request.workflow;
  for (const auto& claim : request.claims) {
    std::string key = wf.namespace_ + "/" + claim_name(wf, claim);
    {
      std::lock_guard<std::mutex> lock(claims_mu_);
      if (claims_.count(key)) continue;
    }
    auto made = kube_.client->create(claim_object(wf, claim), wf.namespace_);
    if (!made && made.status().code() != Code::kAlreadyExists) {
      return made.status().with_context("volumeClaimTemplates " + claim.name);
    }
    std::lock_guard<std::mutex> lock(claims_mu_);
    claims_.insert(key);
  }
  return Status::ok();
}

void KubeExecutor::delete_claims(const std::string& ns, const std::string& workflow) {
  {
    std::lock_guard<std::mutex> lock(claims_mu_);
    std::erase_if(claims_, [&](const std::string& key) { return key.rfind(ns + "/" + workflow + "-", 0) == 0; });
  }
  delete_labelled("PersistentVolumeClaim", ns, std::string(kWorkflowLabel) + "=" + workflow, 0);
}

void KubeExecutor::start(StepRequest request) {
  if (!request.workflow) request.workflow = default_workflow_;
  if (request.pod_name.empty()) {
    std::string n = request.node_id.substr(request.node_id.find('/') + 1);
    for (char& c : n) c = isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(tolower(c)) : '-';
    request.pod_name = (request.workflow->name + "-" + n).substr(0, 63);
  }
  Step s;
  s.node_id = request.node_id;
  s.ns = request.workflow->namespace_;
  s.pod = request.pod_name;
  s.workflow = request.workflow;
  s.daemon = request.tmpl.daemon;
  s.has_inputs = !request.extra_mounts.empty();
  by_pod_[s.ns + "/" + s.pod] = s.node_id;
  {
    std::lock_guard<std::mutex> lock(logs_mu_);
    logs_[s.node_id] = {s.ns, s.pod, step_files(s.workflow->run_dir, s.node_id).log, false};
  }
  std::string outside = outside_managed(kube_.managed_namespace, s.ns);
  std::string node_id = s.node_id;
  steps_[node_id] = std::move(s);
  if (!outside.empty()) {
    // Fails now, before any API call: the Role skiff has would only answer 403 there.
    post(Event::create_failed(node_id, Status(Code::kInvalid, outside)));
    return;
  }
  queue_job([this, r = std::move(request)]() mutable { create(std::move(r)); });
}

void KubeExecutor::remove_pod(const std::string& ns, const std::string& pod, int64_t grace_s, int64_t delay_ms) {
  queue_job(
      [this, ns, pod, grace_s] {
        kube::DeleteOptions del;
        del.grace_period_seconds = grace_s;
        Status s = kube_.client->remove({"v1", "Pod", ns, pod}, ns, del);
        if (!s && s.code() != Code::kNotFound)
          std::fprintf(stderr, "skiff: kubernetes executor: %s\n", s.message().c_str());
      },
      delay_ms > 0 ? now_ms() + delay_ms : 0);
}

void KubeExecutor::delete_labelled(const std::string& kind, const std::string& ns, const std::string& selector,
                                   int64_t delay_ms) {
  queue_job(
      [this, kind, ns, selector] {
        kube::ListOptions list;
        list.label_selector = selector;
        auto found = kube_.client->list("v1", kind, ns, list);
        if (!found) {
          std::fprintf(stderr, "skiff: kubernetes executor: %s\n", found.status().message().c_str());
          return;
        }
        for (const auto& item : found->value("items", Json::array())) {
          kube::DeleteOptions del;
          del.grace_period_seconds = kind == "Pod" ? 0 : -1;
          (void)kube_.client->remove(kube::ref_of(item), ns, del);
        }
      },
      delay_ms > 0 ? now_ms() + delay_ms : 0);
}

void KubeExecutor::kill(const std::string& node_id, const std::string& reason) {
  auto it = steps_.find(node_id);
  if (it == steps_.end()) return;
  Step& s = it->second;
  s.kill_reason = reason;
  // A Pod not made yet is deleted once it is seen (apply()): a delete sent now could
  // overtake its create.
  if (!s.uid.empty() && !s.deleting) {
    s.deleting = true;
    remove_pod(s.ns, s.pod, std::max(0, options_.kill_grace_ms / 1000));
  }
}

void KubeExecutor::fetch(Step& s, std::optional<PodState> known) {
  s.fetching = true;
  PodGc gc = pod_gc_of(*s.workflow);
  bool want_log = static_cast<bool>(options_.log_sink);
  std::string artifact_dir = s.workflow->run_dir + "/pod-artifacts/" + s.pod;
  std::string log_file = step_files(s.workflow->run_dir, s.node_id).log;
  queue_job([this, node_id = s.node_id, ns = s.ns, pod = s.pod, known, gc, want_log, artifact_dir, log_file,
             inputs = s.has_inputs] {
    Event e = Event::fetched(node_id, {});
    std::string path = pod_path(ns, pod);
    PodState state;
    if (known) {
      state = *known;
    } else if (auto read = kube_.client->get({"v1", "Pod", ns, pod}, ns)) {
      state = pod_state(*read);
    } else {
      state.kind = PodState::kMainDone;
    }
    auto log = kube_.client->get_text(path + "/log?container=wait", "log of Pod " + ns + "/" + pod);
    Json artifacts;
    e.result = step_result(node_id, state, log ? *log : "", &artifacts);
    if (!log && e.result.message.empty() && !e.result.error) e.result.message = log.status().message();
    if (artifacts.is_object()) save_artifacts(artifacts, artifact_dir, &e.result);
    if (inputs) (void)kube_.client->remove({"v1", "Secret", ns, pod + "-inputs"}, ns, {});
    // main's log, kept as the other executors keep theirs: after podGC it is still there
    // for the UI, and archiveLogs saves it (artifact_executor.cc).
    std::string query = "/log?container=main";
    if (options_.max_log > 0) query += "&limitBytes=" + std::to_string(options_.max_log);
    if (auto main = kube_.client->get_text(path + query, "log of Pod " + ns + "/" + pod)) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(log_file).parent_path(), ec);
      if (!main->empty()) (void)write_file(log_file, *main, 0600);
      if (want_log) e.main_log = std::move(*main);
    }
    // podGC of this one pod; else it is labelled completed, as Argo labels it.
    bool succeeded = e.result.exit_code == 0 && !e.result.error;
    if (gc.strategy == "OnPodCompletion" || (gc.strategy == "OnPodSuccess" && succeeded)) {
      remove_pod(ns, pod, 0, gc.delay_ms);
    } else {
      Json patch = {{"metadata", {{"labels", {{kCompletedLabel, "true"}}}}}};
      (void)kube_.client->patch({"v1", "Pod", ns, pod}, ns, kube::PatchType::kMerge, patch.dump());
    }
    post(std::move(e));
  });
}

void KubeExecutor::finish(Step& s, StepResult result) {
  result.node_id = s.node_id;
  if (!s.kill_reason.empty()) result.message = s.kill_reason;
  {
    std::lock_guard<std::mutex> lock(logs_mu_);
    auto it = logs_.find(s.node_id);
    if (it != logs_.end()) it->second.ended = true;
  }
  ready_.push_back(std::move(result));
  by_pod_.erase(s.ns + "/" + s.pod);
  steps_.erase(s.node_id);
}

void KubeExecutor::apply(Event& e) {
  std::string node_id = e.node_id;
  if (e.kind == Event::kPod) {
    const Json meta = e.pod.value("metadata", Json::object());
    auto it = by_pod_.find(meta.value("namespace", "") + "/" + meta.value("name", ""));
    if (it == by_pod_.end()) return;
    node_id = it->second;
  }
  auto it = steps_.find(node_id);
  if (it == steps_.end()) return;
  Step& s = it->second;
  if (e.kind == Event::kCreateFailed) {
    StepResult r;
    r.error = true;
    r.exit_code = -1;
    r.message = e.status.message();
    return finish(s, std::move(r));
  }
  if (e.kind == Event::kFetched) {
    if (options_.log_sink && !e.main_log.empty()) {
      size_t start = 0;
      while (start < e.main_log.size()) {
        size_t nl = e.main_log.find('\n', start);
        size_t end = nl == std::string::npos ? e.main_log.size() : nl;
        options_.log_sink(s.node_id, std::string_view(e.main_log).substr(start, end - start));
        start = end + 1;
      }
    }
    return finish(s, std::move(e.result));
  }
  const Json meta = e.pod.value("metadata", Json::object());
  const std::string uid = meta.value("uid", "");
  if (s.uid.empty()) {
    // Only the Pod this step made (an earlier one of the same name may still be going).
    if (meta.value("annotations", Json::object()).value(kStepAnnotation, "") != s.node_id) return;
    s.uid = uid;
  } else if (uid != s.uid) {
    return;
  }
  if (s.fetching) return;
  if (!s.kill_reason.empty() && !s.deleting && e.type != "DELETED") {
    s.deleting = true;
    remove_pod(s.ns, s.pod, std::max(0, options_.kill_grace_ms / 1000));
  }
  if (e.type == "DELETED") {
    StepResult r;
    r.exit_code = -1;
    if (s.kill_reason.empty()) {
      r.error = true;
      r.message = "pod deleted";
    }
    return finish(s, std::move(r));
  }
  PodState state = pod_state(e.pod);
  switch (state.kind) {
    case PodState::kWaiting:
      break;
    case PodState::kFailed: {
      StepResult r;
      r.error = !state.deadline;
      r.exit_code = -1;
      r.message = state.message;
      std::string phase = e.pod.value("status", Json::object()).value("phase", "");
      bool remove = phase != "Succeeded" && phase != "Failed" && !s.deleting;
      s.deleting = s.deleting || remove;
      s.fetching = true;
      // In the kubelet's words, the message ends with the Pod's Warning events (what
      // `kubectl describe` shows), read before the Pod goes.
      queue_job([this, node_id = s.node_id, ns = s.ns, pod = s.pod, remove, events = state.with_events,
                 r = std::move(r)]() mutable {
        if (events) {
          kube::ListOptions list;
          list.field_selector = "involvedObject.kind=Pod,involvedObject.name=" + pod;
          if (auto found = kube_.client->list("v1", "Event", ns, list)) r.message += warning_events(*found);
        }
        if (remove) remove_pod(ns, pod, 0);
        post(Event::fetched(node_id, std::move(r)));
      });
      break;
    }
    case PodState::kRunning:
      if (!s.started && (!s.daemon || state.ready)) {
        s.started = true;
        started_.push_back({s.node_id, state.ip});
      }
      break;
    case PodState::kMainDone:
      if (!s.started && !s.daemon) {
        s.started = true;
        started_.push_back({s.node_id, state.ip});
      }
      if (state.outputs_ready || (s.main_done_ms > 0 && now_ms() - s.main_done_ms > kWaitGraceMs)) {
        fetch(s, state);
      } else if (s.main_done_ms == 0) {
        s.main_done_ms = now_ms();
      }
      break;
  }
}

std::vector<StepResult> KubeExecutor::wait(int timeout_ms) {
  const int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  for (;;) {
    std::deque<Event> events;
    {
      std::lock_guard<std::mutex> lock(mu_);
      events.swap(events_);
    }
    uint64_t n;
    while (::read(event_fd_, &n, sizeof n) > 0) {
    }
    for (auto& e : events) apply(e);
    // A main that ended long ago while `wait` still runs: read what there is.
    int64_t now = now_ms();
    bool timers = false;
    for (auto& [id, s] : steps_) {
      if (s.main_done_ms == 0 || s.fetching) continue;
      timers = true;
      if (now - s.main_done_ms > kWaitGraceMs) fetch(s, std::nullopt);
    }
    if (!ready_.empty() || !started_.empty()) return std::exchange(ready_, {});
    now = now_ms();
    if (deadline >= 0 && now >= deadline) return {};
    int wait_ms = deadline < 0 ? -1 : static_cast<int>(deadline - now);
    if (timers && (wait_ms < 0 || wait_ms > 1000)) wait_ms = 1000;
    pollfd fds[2] = {{event_fd_, POLLIN, 0}, {interrupt_fd_, POLLIN, 0}};
    int r = ::poll(fds, interrupt_fd_ >= 0 ? 2 : 1, wait_ms);
    if (r > 0 && interrupt_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      // The owner has new work; what came meanwhile is taken next time.
      return {};
    }
  }
}

Status KubeExecutor::open_workflow(WorkflowContext* context) {
  std::string data_dir = options_.data_dir.empty()
                             ? std::filesystem::path(options_.run_dir).parent_path().parent_path().string()
                             : options_.data_dir;
  context->run_dir = workflow_dir(data_dir, context->namespace_, context->name);
  return make_workflow_dirs(context->run_dir) ? Status::ok()
                                              : Status(Code::kInternal, "cannot make " + context->run_dir);
}

void KubeExecutor::release_workflow(const std::string& namespace_, const std::string& name) {
  const std::string selector = std::string(kWorkflowLabel) + "=" + name;
  if (managed(namespace_)) {  // elsewhere it made nothing
    delete_labelled("Pod", namespace_, selector, 0);
    delete_claims(namespace_, name);
    delete_labelled("Secret", namespace_, selector, 0);  // input artifacts' of steps that did not end
  }
  std::string data_dir = options_.data_dir.empty()
                             ? std::filesystem::path(options_.run_dir).parent_path().parent_path().string()
                             : options_.data_dir;
  std::error_code ec;
  std::filesystem::remove_all(workflow_dir(data_dir, namespace_, name), ec);
  std::lock_guard<std::mutex> lock(logs_mu_);
  std::erase_if(logs_, [&](const auto& entry) {
    return entry.second.ns == namespace_ && entry.second.pod.rfind(name + "-", 0) == 0;
  });
}

void KubeExecutor::workflow_ended(const WorkflowContext& workflow, bool succeeded) {
  if (!managed(workflow.namespace_)) return;  // it made nothing there
  // volumeClaimGC: its claims go when it succeeded (Argo's default), or whenever it ends.
  Json claim_gc = Json::parse(workflow.volume_claim_gc_json.empty() ? "{}" : workflow.volume_claim_gc_json, nullptr, false);
  std::string claim_strategy = claim_gc.is_object() ? claim_gc.value("strategy", "") : "";
  if (succeeded || claim_strategy == "OnWorkflowCompletion") delete_claims(workflow.namespace_, workflow.name);
  PodGc gc = pod_gc_of(workflow);
  if (gc.strategy != "OnWorkflowCompletion" && !(gc.strategy == "OnWorkflowSuccess" && succeeded)) return;
  std::string selector = std::string(kWorkflowLabel) + "=" + workflow.name;
  if (!gc.selector.empty()) selector += "," + gc.selector;
  delete_labelled("Pod", workflow.namespace_, selector, gc.delay_ms);
}

Result<LogChunk> KubeExecutor::read_log(const LogRef& ref, uint64_t offset, size_t max) const {
  LogPlace place;
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(logs_mu_);
    auto it = logs_.find(ref.node_id);
    if (it != logs_.end()) place = it->second, known = true;
  }
  if (!known) {
    if (std::string why = outside_managed(kube_.managed_namespace, ref.namespace_); !why.empty())
      return Status(Code::kNotFound, "no pod for step " + ref.node_id + ": " + why);
    // A step of an earlier server: its Pod, found by its annotation.
    kube::ListOptions list;
    list.label_selector = std::string(kWorkflowLabel) + "=" + ref.workflow;
    auto pods = kube_.client->list("v1", "Pod", ref.namespace_, list);
    if (!pods) return pods.status();
    for (const auto& p : pods->value("items", Json::array())) {
      const Json meta = p.value("metadata", Json::object());
      if (meta.value("annotations", Json::object()).value(kStepAnnotation, "") != ref.node_id) continue;
      place = {ref.namespace_, meta.value("name", ""), "", pod_state(p).kind == PodState::kMainDone};
      known = true;
    }
    if (!known) return Status(Code::kNotFound, "no pod for step " + ref.node_id);
  }
  if (place.ended && !place.file.empty() && ::access(place.file.c_str(), R_OK) == 0) {
    if (auto text = read_file_capped(place.file, offset + max)) {
      LogChunk chunk;
      if (offset < text->size()) chunk.data = text->substr(offset, max);
      return chunk;
    }
  }
  std::string path = pod_path(place.ns, place.pod) + "/log?container=main&limitBytes=" + std::to_string(offset + max);
  auto text = kube_.client->get_text(path, "log of Pod " + place.ns + "/" + place.pod);
  LogChunk chunk;
  chunk.more = !place.ended;
  if (!text) {
    // 400 while the container waits to start; 404 once the Pod is gone.
    if (text.status().code() == Code::kNotFound) return text.status();
    return chunk;
  }
  if (offset < text->size()) chunk.data = text->substr(offset, max);
  return chunk;
}

}  // namespace

Result<std::unique_ptr<Executor>> make_kube_executor(const ExecutorOptions& options, KubeOptions kube) {
  if (!kube.client) return invalid("--executor kubernetes needs a cluster: give --kubeconfig FILE or set KUBECONFIG");
  if (kube.pod.emissary_image.empty()) return invalid("--executor kubernetes needs --emissary-image");
  if (!kube.managed_namespace.empty() && !dns1123_label(kube.managed_namespace)) {
    return invalid("--managed-namespace \"" + kube.managed_namespace +
                   "\": not a namespace name (lower-case letters, digits and '-', at most 63)");
  }
  // What the watch will do, once, so that missing RBAC is said now and not retried forever.
  kube::ListOptions probe;
  probe.label_selector = kWorkflowLabel;
  probe.limit = 1;
  auto pods = kube.client->list("v1", "Pod", kube.managed_namespace, probe);
  if (!pods) {
    const std::string& why = pods.status().message();
    std::string where = kube.managed_namespace.empty() ? "in all namespaces" : "in namespace " + kube.managed_namespace;
    std::string fix = " (docs/kubernetes-executor.md lists the RBAC it needs)";
    if (why.find("forbidden") != std::string::npos) {
      fix = kube.managed_namespace.empty()
                ? ": it watches Pods cluster-wide, which needs the ClusterRole of deploy/rbac.yaml; with a Role in one "
                  "namespace only (deploy/rbac-namespaced.yaml), give --managed-namespace NAMESPACE"
                : ": bind the Role of deploy/rbac-namespaced.yaml in namespace " + kube.managed_namespace +
                      " to the identity skiff uses";
    }
    return Status(pods.status().code(), "the kubernetes executor cannot list Pods " + where + " on " +
                                            kube.client->config().server + ": " + why + fix);
  }
  kube.pod.max_stdout = options.max_stdout;
  kube.pod.max_output_parameter = options.max_output_parameter;
  kube.pod.kill_grace_ms = options.kill_grace_ms;
  kube.pod.allow_host_path = options.allow_host_path;
  kube.pod.allow_privileged = options.allow_privileged;
  return std::unique_ptr<Executor>(std::make_unique<KubeExecutor>(options, std::move(kube)));
}

}  // namespace skiff::runtime
