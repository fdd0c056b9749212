#include "runtime/agent_executor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <deque>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "net/http_client.h"
#include "runtime/fd.h"
#include "runtime/secret_store.h"
#include "util/base64.h"
#include "util/json_text.h"

namespace skiff::runtime {

using Json = nlohmann::json;

namespace {

constexpr size_t kMaxLog = 16 * 1024;
constexpr size_t kMaxThreads = 64;  // steps carried out at once; the rest wait their turn

std::string log_key(const std::string& namespace_, const std::string& workflow, const std::string& node_id) {
  return namespace_ + "/" + workflow + "/" + node_id;
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Go's canonical header name, as Argo's response.headers keys are: content-type -> Content-Type.
std::string canonical_header(const std::string& name) {
  std::string out = name;
  bool upper = true;
  for (char& c : out) {
    c = upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
              : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return out;
}

std::string string_field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// What one http template asks for, read from its JSON (validated by lint; checked again
// here, as a template can arrive by the API).
struct HttpCall {
  std::string method = "GET";
  std::string url;
  net::Headers headers;
  Json request_headers = Json::object();  // name -> [values] for successCondition (secrets left out)
  std::string body;
  long timeout_s = 0;
  std::string success_condition;
  bool insecure = false;
};

Result<HttpCall> read_call(const std::string& json_text, const std::string& data_dir, const std::string& namespace_) {
  Json h = parse_json_or_discarded<Json>(json_text);
  if (!h.is_object()) return invalid("http: not an object");
  HttpCall c;
  if (std::string m = string_field(h, "method"); !m.empty()) c.method = m;
  c.url = string_field(h, "url");
  if (c.url.empty()) return invalid("http.url is required");
  c.body = string_field(h, "body");
  if (auto from = h.find("bodyFrom"); from != h.end() && from->is_object() && from->contains("bytes")) {
    auto raw = base64_decode(string_field(*from, "bytes"));
    if (!raw) return invalid("http.bodyFrom.bytes is not base64: " + raw.status().message());
    c.body = std::move(*raw);
  }
  if (auto t = h.find("timeoutSeconds"); t != h.end() && !t->is_null()) {
    if (t->is_number_integer()) c.timeout_s = t->get<long>();
    else if (t->is_string()) c.timeout_s = std::atol(t->get<std::string>().c_str());
    if (c.timeout_s <= 0) return invalid("http.timeoutSeconds must be a positive number of seconds");
  }
  c.success_condition = string_field(h, "successCondition");
  if (auto i = h.find("insecureSkipVerify"); i != h.end() && i->is_boolean()) c.insecure = i->get<bool>();
  if (auto hs = h.find("headers"); hs != h.end() && hs->is_array()) {
    for (const auto& e : *hs) {
      std::string name = string_field(e, "name");
      if (name.empty()) return invalid("http.headers: each header needs a name");
      std::string value = string_field(e, "value");
      auto vf = e.find("valueFrom");
      if (vf != e.end() && vf->is_object() && vf->contains("secretKeyRef")) {
        const Json& ref = (*vf)["secretKeyRef"];
        std::string secret = string_field(ref, "name"), key = string_field(ref, "key");
        auto object = read_config_object(data_dir, ConfigKind::kSecret, namespace_, secret);
        if (!object)
          return Status(Code::kFailed, "header " + name + ": secret " + namespace_ + "/" + secret +
                                           " not found; create it with `skiff secret create " + secret + " ...`");
        auto it = object->data.find(key);
        if (it == object->data.end())
          return Status(Code::kFailed, "header " + name + ": secret " + namespace_ + "/" + secret + " has no key " + key);
        value = it->second;
      } else {
        c.request_headers[name].push_back(value);
      }
      c.headers.emplace_back(name, value);
    }
  }
  return c;
}

}  // namespace

struct AgentExecutor::Impl {
  struct Job {
    StepRequest request;
    std::shared_ptr<const WorkflowContext> workflow;
    std::atomic<bool> cancelled{false};
    std::string kill_reason;  // guarded by mu
    std::thread thread;
    bool done = false;  // guarded by mu
  };

  std::unique_ptr<Executor> inner;
  AgentOptions options;
  mutable std::mutex mu;
  std::list<Job> jobs;
  std::deque<Job*> waiting;  // beyond kMaxThreads (guarded by mu)
  size_t threads = 0;        // jobs whose thread has not ended (guarded by mu)
  std::vector<StepResult> results;
  std::vector<StepStarted> started;
  std::map<std::string, std::string> logs;  // log_key -> text
  std::set<std::string> live_logs;
  Fd own_interrupt;
  int interrupt_fd = -1;
  std::shared_ptr<const WorkflowContext> default_workflow = std::make_shared<WorkflowContext>();

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      waiting.clear();  // never started
    }
    for (auto& job : jobs) job.cancelled = true;
    for (auto& job : jobs)
      if (job.thread.joinable()) job.thread.join();
  }

  // Starts the job's thread (mu held).
  void launch(Job& job) {
    ++threads;
    job.thread = std::thread([this, &job] { run(job); });
  }

  void log(const Job& job, const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    std::string& text = logs[log_key(job.workflow->namespace_, job.workflow->name, job.request.node_id)];
    if (text.size() + line.size() + 1 > kMaxLog) return;
    text += line;
    text += '\n';
  }

  void run(Job& job) {
    StepResult r;
    r.node_id = job.request.node_id;
    Status st = carry_out(job, &r);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (job.cancelled) {
        r.exit_code = -1;
        r.message = job.kill_reason;
      }
    }
    if (!job.cancelled && !st) {
      r.exit_code = 1;
      r.message = st.message();
    }
    if (!r.message.empty()) log(job, r.message);
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
    uint64_t one = 1;
    (void)!::write(interrupt_fd, &one, sizeof one);
  }

  Status carry_out(Job& job, StepResult* r) {
    if (job.cancelled) return Status::ok();  // killed while it waited for a thread
    if (job.request.tmpl.type == spec::TemplateType::kData) {
      DataStepContext context;
      context.data_dir = options.data_dir;
      context.namespace_ = job.workflow->namespace_;
      context.artifact_repository_ref = job.workflow->artifact_repository_ref;
      context.evaluate = options.evaluate;
      auto result = run_data_template(job.request.tmpl.other_type_json, context);
      if (!result) return Status(Code::kFailed, result.status().message());
      log(job, *result);
      r->stdout_text = std::move(*result);
      return Status::ok();
    }
    return send(job, r);
  }

  Status send(Job& job, StepResult* r) {
    auto call = read_call(job.request.tmpl.other_type_json, options.data_dir, job.workflow->namespace_);
    if (!call) return Status(Code::kFailed, call.status().message());
    net::ClientOptions client_options;
    client_options.tls.insecure_skip_verify = call->insecure;
    client_options.user_agent = "skiff";
    if (call->timeout_s > 0) {
      client_options.timeouts.total_ms = call->timeout_s * 1000;
      client_options.timeouts.connect_ms = std::min<long>(client_options.timeouts.connect_ms, call->timeout_s * 1000);
    }
    net::HttpClient client(client_options);
    net::Request req;
    req.method = call->method;
    req.url = call->url;
    req.headers = call->headers;
    // libcurl would label a body form data; Go's client (Argo's agent) sends no Content-Type
    // unless the template gives one. An empty value removes libcurl's.
    bool typed = false;
    for (const auto& [name, value] : req.headers) typed |= canonical_header(name) == "Content-Type";
    if (!typed) req.headers.emplace_back("Content-Type", "");
    if (!call->body.empty() || (req.method != "GET" && req.method != "HEAD")) req.body = call->body;
    req.max_body = options.max_body;
    req.cancelled = [&job] { return job.cancelled.load(); };
    log(job, req.method + " " + req.url);
    auto response = client.send(req);
    if (!response) return Status(Code::kFailed, response.status().message());  // no response, or a body past max_body
    log(job, "HTTP " + std::to_string(response->status) + " (" + std::to_string(response->body.size()) + " bytes)");
    r->stdout_text = response->body;
    if (call->success_condition.empty()) {
      if (response->status < 200 || response->status >= 300)
        return Status(Code::kFailed, "received non-2xx response code: " + std::to_string(response->status));
      return Status::ok();
    }
    if (!options.evaluate) return Status(Code::kFailed, "successCondition cannot be evaluated here");
    Json headers = Json::object();
    for (const auto& [name, value] : response->headers) headers[canonical_header(name)] = Json::array({value});
    Json request = {{"method", call->method}, {"url", call->url}, {"body", call->body}, {"headers", call->request_headers}};
    Json resp = {{"statusCode", response->status}, {"body", response->body}, {"headers", headers}};
    auto value = options.evaluate(call->success_condition, {{"request", dump(request)}, {"response", dump(resp)}});
    if (!value) return Status(Code::kFailed, "successCondition '" + call->success_condition + "': " + value.status().message());
    if (*value != "true" && *value != "false")
      return Status(Code::kFailed, "successCondition '" + call->success_condition + "' gave " + *value + ", not a bool");
    if (*value == "false")
      return Status(Code::kFailed, "successCondition '" + call->success_condition + "' evaluated false");
    return Status::ok();
  }
};

AgentExecutor::AgentExecutor(std::unique_ptr<Executor> inner, AgentOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->inner = std::move(inner);
  impl_->options = std::move(options);
  impl_->own_interrupt = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  impl_->interrupt_fd = impl_->own_interrupt.get();
  impl_->inner->set_interrupt_fd(impl_->interrupt_fd);
}

AgentExecutor::~AgentExecutor() = default;

void AgentExecutor::start(StepRequest request) {
  if (request.tmpl.type != spec::TemplateType::kHttp && request.tmpl.type != spec::TemplateType::kData) {
    impl_->inner->start(std::move(request));
    return;
  }
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  for (auto it = m.jobs.begin(); it != m.jobs.end();) {  // join the threads of steps that ended
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

void AgentExecutor::kill(const std::string& node_id, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& job : impl_->jobs) {
      if (job.request.node_id != node_id || job.done) continue;
      job.kill_reason = reason;
      job.cancelled = true;
      return;
    }
  }
  impl_->inner->kill(node_id, reason);
}

Result<std::vector<std::string>> AgentExecutor::exec_command(const std::string& node_id,
                                                            const std::vector<std::string>& command) const {
  return impl_->inner->exec_command(node_id, command);
}

std::vector<StepResult> AgentExecutor::wait(int timeout_ms) {
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

size_t AgentExecutor::running() const {
  size_t n = impl_->inner->running();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& job : impl_->jobs) n += job.done ? 0 : 1;
  return n + impl_->results.size();
}

std::vector<StepStarted> AgentExecutor::take_started() {
  std::vector<StepStarted> out = impl_->inner->take_started();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& s : impl_->started) out.push_back(std::move(s));
  impl_->started.clear();
  return out;
}

void AgentExecutor::set_interrupt_fd(int fd) {
  impl_->interrupt_fd = fd >= 0 ? fd : impl_->own_interrupt.get();
  impl_->inner->set_interrupt_fd(impl_->interrupt_fd);
}

Status AgentExecutor::open_workflow(WorkflowContext* context) { return impl_->inner->open_workflow(context); }

void AgentExecutor::workflow_ended(const WorkflowContext& workflow, bool succeeded) {
  impl_->inner->workflow_ended(workflow, succeeded);
}

void AgentExecutor::collect_artifacts(const WorkflowContext& workflow, std::vector<std::string> artifacts) {
  impl_->inner->collect_artifacts(workflow, std::move(artifacts));
}

void AgentExecutor::release_workflow(const std::string& namespace_, const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::string prefix = log_key(namespace_, name, "");
    for (auto it = impl_->logs.lower_bound(prefix); it != impl_->logs.end() && it->first.rfind(prefix, 0) == 0;)
      it = impl_->logs.erase(it);
  }
  impl_->inner->release_workflow(namespace_, name);
}

Result<LogChunk> AgentExecutor::read_log(const LogRef& ref, uint64_t offset, size_t max) const {
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
