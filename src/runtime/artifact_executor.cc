#include "runtime/artifact_executor.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "net/http_client.h"
#include "runtime/artifact_files.h"
#include "runtime/fd.h"
#include "runtime/program.h"
#include "runtime/secret_store.h"
#include "runtime/step_files.h"
#include "runtime/step_plan.h"
#include "runtime/volumes.h"
#include "util/base64.h"
#include "util/creation_time.h"
#include "util/strings.h"

namespace skiff::runtime {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kDefaultRepositoryAnnotation = "workflows.argoproj.io/default-artifact-repository";

void warn(const std::string& text) { std::fprintf(stderr, "skiff: %s\n", text.c_str()); }

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// A secret's key as Argo's SecretKeySelector ({name, key}) names it.
Result<std::string> secret_value(const std::string& data_dir, const std::string& namespace_, const Json& selector,
                                 const std::string& what) {
  if (!selector.is_object() || !selector.contains("name") || !selector["name"].is_string() ||
      !selector.contains("key") || !selector["key"].is_string())
    return invalid(what + " needs {name, key} of a secret");
  std::string name = selector["name"], key = selector["key"];
  auto secret = read_config_object(data_dir, ConfigKind::kSecret, namespace_, name);
  if (!secret) return Status(secret.status().code(), what + ": secret " + namespace_ + "/" + name + ": " + secret.status().message());
  auto it = secret->data.find(key);
  if (it == secret->data.end()) return invalid(what + ": secret " + namespace_ + "/" + name + " has no key " + key);
  return it->second;
}

std::string str_of(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// Argo's S3 location (a repository's or an artifact's) as an S3Config, its secrets read.
Result<S3Config> s3_config(const Json& s3, const std::string& data_dir, const std::string& namespace_) {
  S3Config c;
  c.endpoint = str_of(s3, "endpoint");
  c.bucket = str_of(s3, "bucket");
  if (std::string region = str_of(s3, "region"); !region.empty()) c.region = region;
  c.insecure = s3.value("insecure", false);
  c.create_bucket = s3.contains("createBucketIfNotPresent") && !s3["createBucketIfNotPresent"].is_null();
  if (c.endpoint.empty()) return invalid("s3 needs an endpoint (host:port of the S3 server)");
  if (c.bucket.empty()) return invalid("s3 needs a bucket");
  if (s3.contains("accessKeySecret")) {
    auto v = secret_value(data_dir, namespace_, s3["accessKeySecret"], "s3.accessKeySecret");
    if (!v) return v.status();
    c.access_key = trim(*v);
  }
  if (s3.contains("secretKeySecret")) {
    auto v = secret_value(data_dir, namespace_, s3["secretKeySecret"], "s3.secretKeySecret");
    if (!v) return v.status();
    c.secret_key = trim(*v);
  }
  if (s3.contains("sessionTokenSecret")) {
    auto v = secret_value(data_dir, namespace_, s3["sessionTokenSecret"], "s3.sessionTokenSecret");
    if (!v) return v.status();
    c.session_token = trim(*v);
  }
  return c;
}

Json yaml_to_json(const YAML::Node& n, int depth = 0) {
  if (depth > 32) return nullptr;
  if (n.IsMap()) {
    Json o = Json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second, depth + 1);
    return o;
  }
  if (n.IsSequence()) {
    Json a = Json::array();
    for (const auto& e : n) a.push_back(yaml_to_json(e, depth + 1));
    return a;
  }
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (n.Tag() != "!" && (s == "true" || s == "false")) return s == "true";
    return s;
  }
  return nullptr;
}

// A git artifact (Argo's GitArtifact) cloned into `dest` by the git program: repo,
// revision (a branch, tag or commit), depth, fetch (refspecs), singleBranch/branch,
// disableSubmodules, credentials from secrets (usernameSecret/passwordSecret as basic auth,
// sshPrivateKeySecret with insecureIgnoreHostKey), insecureSkipTLS. Only https, http, ssh and
// git URLs, unless `allow_local` (file:// and paths: this machine's repositories).
Status fetch_git(const Json& g, const std::string& dest, const std::string& data_dir, const std::string& namespace_,
                 bool allow_local) {
  std::string repo = str_of(g, "repo");
  if (repo.empty()) return invalid("git artifact needs a repo");
  std::string git = find_program("git");
  if (git.empty()) return Status(Code::kUnavailable, "git artifacts need the git program (apt-get install git)");
  std::vector<std::string> args = {find_program("env"), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
                                   "HOME=" + dest + ".home", git,
                                   "-c", "protocol.allow=never", "-c", "protocol.https.allow=always",
                                   "-c", "protocol.http.allow=always", "-c", "protocol.ssh.allow=always",
                                   "-c", "protocol.git.allow=always"};
  if (allow_local) args.insert(args.end(), {"-c", "protocol.file.allow=always"});
  if (g.value("insecureSkipTLS", false) == true) args.insert(args.end(), {"-c", "http.sslVerify=false"});
  std::string user, password;
  if (g.contains("usernameSecret")) {
    auto v = secret_value(data_dir, namespace_, g["usernameSecret"], "git.usernameSecret");
    if (!v) return v.status();
    user = trim(*v);
  }
  if (g.contains("passwordSecret")) {
    auto v = secret_value(data_dir, namespace_, g["passwordSecret"], "git.passwordSecret");
    if (!v) return v.status();
    password = trim(*v);
  }
  if (!user.empty() || !password.empty())  // a header, so the secret is never in a URL or a log
    args.insert(args.end(), {"-c", "http.extraHeader=Authorization: Basic " + base64_encode(user + ":" + password)});
  std::string key_file = dest + ".key";
  if (g.contains("sshPrivateKeySecret")) {
    auto v = secret_value(data_dir, namespace_, g["sshPrivateKeySecret"], "git.sshPrivateKeySecret");
    if (!v) return v.status();
    std::string key = *v;
    if (!key.empty() && key.back() != '\n') key += '\n';
    if (Status s = write_file(key_file, key, 0600); !s) return s;
    std::string ssh = "ssh -i " + key_file + " -o IdentitiesOnly=yes -o BatchMode=yes";
    if (g.value("insecureIgnoreHostKey", false) == true) ssh += " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null";
    args.insert(args.begin() + 1, "GIT_SSH_COMMAND=" + ssh);
  }
  std::vector<std::string> base = args;
  auto git_run = [&](std::vector<std::string> more, const std::string& doing) -> Status {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), more.begin(), more.end());
    ProgramLimits limits;
    limits.timeout_ms = 10 * 60 * 1000;
    auto out = run_program_limited(argv, "", limits);
    if (!out) return out.status();
    if (out->exit_code != 0) {
      std::string err(trim(out->err));
      if (err.size() > 600) err = err.substr(err.size() - 600);
      return Status(Code::kFailed, doing + " failed" + (out->timed_out ? " (timed out)" : "") + ": " + err);
    }
    return Status::ok();
  };
  std::vector<std::string> clone = {"clone", "--quiet"};
  std::string depth;
  if (g.contains("depth") && g["depth"].is_number_unsigned() && g["depth"].get<uint64_t>() > 0)
    depth = std::to_string(g["depth"].get<uint64_t>());
  if (!depth.empty()) clone.insert(clone.end(), {"--depth", depth});
  if (g.value("singleBranch", false) == true) clone.push_back("--single-branch");
  if (std::string branch = str_of(g, "branch"); !branch.empty()) clone.insert(clone.end(), {"--branch", branch});
  if (g.value("disableSubmodules", false) != true) clone.push_back("--recurse-submodules");
  clone.insert(clone.end(), {"--", repo, dest});
  Status s = git_run(clone, "git clone " + repo);
  if (s && g.contains("fetch") && g["fetch"].is_array()) {
    std::vector<std::string> fetch = {"-C", dest, "fetch", "--quiet", "origin"};
    for (const auto& r : g["fetch"])
      if (r.is_string()) fetch.push_back(r.get<std::string>());
    s = git_run(fetch, "git fetch");
  }
  if (std::string revision = str_of(g, "revision"); s && !revision.empty()) {
    if (revision[0] == '-') return invalid("git revision \"" + revision + "\" must not start with -");
    if (!depth.empty()) {  // a shallow clone may not have it yet
      std::vector<std::string> fetch = {"-C", dest, "fetch", "--quiet", "--depth", depth, "origin", revision};
      (void)git_run(fetch, "git fetch " + revision);
    }
    s = git_run({"-C", dest, "-c", "advice.detachedHead=false", "checkout", "--quiet", revision, "--"}, "git checkout " + revision);
  }
  ::unlink(key_file.c_str());
  std::error_code ec;
  fs::remove_all(dest + ".home", ec);
  return s;
}

// `text` without its trailing slashes ("/tmp/" -> "/tmp", "wf/parts/" -> "wf/parts").
std::string without_trailing_slashes(std::string text) {
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// The file name an output artifact is stored under (after the key format), as Argo's.
std::string stored_name(const spec::Artifact& a) {
  switch (a.archive) {
    case spec::ArchiveKind::kNone: return fs::path(without_trailing_slashes(a.path)).filename().string();
    case spec::ArchiveKind::kZip: return a.name + ".zip";
    default: return a.name + ".tgz";
  }
}

// keyFormat with the variables Argo offers there: the workflow's name, namespace and uid,
// the pod's name, and its creation time as workflow.creationTimestamp.<strftime char>,
// .RFC3339 and .s (UTC).
Result<std::string> format_key(const std::string& format, const WorkflowContext& wf, const std::string& pod_name) {
  std::map<std::string, std::string> vars =
      creation_time_variables(wf.created_ms > 0 ? wf.created_ms : std::time(nullptr) * int64_t{1000});
  vars.erase("workflow.creationTimestamp");  // Argo offers only its forms here
  vars["workflow.name"] = wf.name;
  vars["workflow.namespace"] = wf.namespace_;
  vars["workflow.uid"] = wf.uid;
  vars["pod.name"] = pod_name;
  std::string out;
  size_t i = 0;
  while (i < format.size()) {
    size_t open = format.find("{{", i);
    if (open == std::string::npos) {
      out += format.substr(i);
      break;
    }
    size_t close = format.find("}}", open);
    if (close == std::string::npos) return invalid("keyFormat \"" + format + "\": a {{ without }}");
    out += format.substr(i, open - i);
    std::string name(trim(format.substr(open + 2, close - open - 2)));
    auto it = vars.find(name);
    if (it == vars.end()) return invalid("keyFormat \"" + format + "\": unknown variable " + name);
    out += it->second;
    i = close + 2;
  }
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

Result<RepositoryChoice> choose_repository(const std::string& data_dir, const std::string& namespace_,
                                           const std::optional<std::pair<std::string, std::string>>& ref) {
  RepositoryChoice choice;
  std::string config_map = ref ? ref->first : "artifact-repositories";
  std::string key = ref ? ref->second : "";
  auto cm = read_config_object(data_dir, ConfigKind::kConfigMap, namespace_, config_map);
  if (!cm) {
    if (ref) {
      return Status(cm.status().code(), "artifactRepositoryRef: ConfigMap " + namespace_ + "/" + config_map + ": " +
                                            cm.status().message());  // which says how to create it
    }
    auto local = open_local_repository(data_dir + "/artifacts");
    if (!local) return local.status();
    choice.repo = std::move(*local);
    choice.ref_json = R"({"default":true})";
    return choice;
  }
  if (key.empty()) {
    auto a = cm->annotations.find(kDefaultRepositoryAnnotation);
    if (a != cm->annotations.end()) key = a->second;
    else if (cm->data.size() == 1) key = cm->data.begin()->first;
    else
      return invalid("ConfigMap " + namespace_ + "/" + config_map + " names no default repository: give "
                     "artifactRepositoryRef.key, or annotate it with " + kDefaultRepositoryAnnotation + ": <key>");
  }
  auto value = cm->data.find(key);
  if (value == cm->data.end()) return invalid("artifactRepositoryRef: ConfigMap " + namespace_ + "/" + config_map + " has no key " + key);
  Json repo;
  try {
    repo = yaml_to_json(YAML::Load(value->second));
  } catch (const YAML::Exception& e) {
    return invalid("artifact repository " + namespace_ + "/" + config_map + " key " + key + ": not YAML: " + e.what());
  }
  std::string where = "artifact repository " + namespace_ + "/" + config_map + "#" + key;
  if (!repo.is_object()) return invalid(where + ": not a map");
  choice.archive_logs = repo.value("archiveLogs", false) == true;
  choice.ref_json = dump(Json{{"configMap", config_map}, {"key", key}, {"namespace", namespace_}});
  if (repo.contains("s3")) {
    auto c = s3_config(repo["s3"], data_dir, namespace_);
    if (!c) return c.status().with_context(where);
    if (std::string f = str_of(repo["s3"], "keyFormat"); !f.empty()) choice.key_format = f;
    else if (std::string prefix = str_of(repo["s3"], "keyPrefix"); !prefix.empty()) choice.key_format = prefix + "/" + choice.key_format;
    auto s3 = open_s3_repository(*c);
    if (!s3) return s3.status().with_context(where);
    choice.repo = std::move(*s3);
    return choice;
  }
  for (auto it = repo.begin(); it != repo.end(); ++it) {
    if (it.key() != "archiveLogs")
      return invalid(where + ": " + it.key() + " repositories are not supported by skiff yet; use s3 (any S3-compatible server)");
  }
  return invalid(where + ": no repository in it (s3: {endpoint, bucket, ...})");
}

Result<std::shared_ptr<ArtifactRepository>> repository_of(const std::string& location_json, const std::string& data_dir,
                                                          const std::string& namespace_,
                                                          std::shared_ptr<ArtifactRepository> fallback) {
  Json j = Json::parse(location_json, nullptr, false);
  const Json* s3 = j.is_object() && j.contains("s3") ? &j["s3"] : nullptr;
  if (!s3 || str_of(*s3, "bucket").empty()) return fallback;  // key-only: the workflow's repository
  auto c = s3_config(*s3, data_dir, namespace_);
  if (!c) return c.status();
  auto repo = open_s3_repository(*c);
  if (!repo) return repo.status();
  return std::shared_ptr<ArtifactRepository>(std::move(*repo));
}

std::optional<std::pair<std::string, std::string>> repository_ref_of(const std::string& workflow_json) {
  Json object = Json::parse(workflow_json, nullptr, false);
  Json spec = object.is_object() && object.contains("spec") ? object["spec"] : Json::object();
  if (!spec.is_object() || !spec.contains("artifactRepositoryRef") || !spec["artifactRepositoryRef"].is_object())
    return std::nullopt;
  const Json& r = spec["artifactRepositoryRef"];
  std::string cm = str_of(r, "configMap");
  return std::make_pair(cm.empty() ? std::string("artifact-repositories") : cm, str_of(r, "key"));
}

std::string gc_strategy_of(const std::string& artifact_json) {
  Json a = Json::parse(artifact_json, nullptr, false);
  return a.is_object() && a.contains("artifactGC") ? str_of(a["artifactGC"], "strategy") : "";
}

// --- the executor -------------------------------------------------------------------------

struct ArtifactExecutor::Impl {
  struct Declared {  // what a running step must store when it exits
    std::vector<spec::Artifact> outputs;
    std::shared_ptr<const WorkflowContext> workflow;
    std::string pod_name;
    bool archive_logs = false;
  };
  struct Job {
    enum Kind { kFetch, kStore, kCollect } kind = kFetch;
    StepRequest request;
    WorkflowContext workflow;             // kCollect: whose repository
    std::vector<std::string> artifacts;   // kCollect: their status JSON
    StepResult result;
    Declared declared;
    std::atomic<bool> cancelled{false};
    std::string kill_reason;  // guarded by mu
  };

  std::unique_ptr<Executor> inner;
  ArtifactOptions options;
  WorkflowContext default_workflow;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> queue;
  std::map<std::string, std::shared_ptr<Job>> busy;  // node -> its fetch or store, until reported
  std::vector<StepRequest> ready;                   // fetched: start on the owner's thread
  std::vector<StepResult> done;                     // ended here (failed fetch, stored outputs)
  std::map<std::pair<std::string, std::string>, RepositoryChoice> repos;  // by namespace, workflow
  bool stopping = false;
  std::vector<std::thread> workers;

  std::map<std::string, Declared> declared;  // owner's thread only
  Fd own_interrupt;
  int interrupt_fd = -1;

  void ring() {
    uint64_t one = 1;
    (void)!::write(interrupt_fd, &one, sizeof one);
  }

  void work() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, with nothing left to do
        job = std::move(queue.front());
        queue.pop_front();
        if (stopping && job->kind != Job::kCollect) continue;  // no step waits for it any more
      }
      if (job->kind == Job::kCollect) {
        collect(*job);
        continue;
      }
      if (job->kind == Job::kFetch) {
        Status s = job->cancelled ? Status::ok() : fetch_inputs(job->request);
        std::lock_guard<std::mutex> lock(mu);
        if (job->cancelled || !s) {
          StepResult r;
          r.node_id = job->request.node_id;
          r.exit_code = 1;
          r.error = !job->cancelled;
          r.message = job->cancelled ? job->kill_reason : s.message();
          done.push_back(std::move(r));
        } else {
          ready.push_back(std::move(job->request));
        }
      } else {
        store_outputs(*job);
        std::lock_guard<std::mutex> lock(mu);
        done.push_back(std::move(job->result));
      }
      ring();
    }
  }

  const WorkflowContext& context_of(const StepRequest& r) const { return r.workflow ? *r.workflow : default_workflow; }

  Result<RepositoryChoice> repository(const WorkflowContext& wf) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = repos.find({wf.namespace_, wf.name});
      if (it != repos.end()) return it->second;
    }
    auto choice = choose_repository(options.data_dir, wf.namespace_, wf.artifact_repository_ref);
    if (!choice) return choice.status();
    std::lock_guard<std::mutex> lock(mu);
    repos[{wf.namespace_, wf.name}] = *choice;
    return *choice;
  }

  Status fetch_one(const StepRequest& request, const spec::Artifact& a, const std::string& dest) {
    const WorkflowContext& wf = context_of(request);
    Json j = Json::parse(a.source_json, nullptr, false);
    if (!j.is_object()) return invalid("not an artifact");
    std::string download = dest + ".download";
    fs::remove_all(download);
    if (j.contains("git")) {
      if (Status s = fetch_git(j["git"], dest, options.data_dir, wf.namespace_, options.allow_local_git); !s) return s;
      return a.mode ? (::chmod(dest.c_str(), static_cast<mode_t>(*a.mode)) == 0 ? Status::ok() : errno_status("chmod", errno))
                    : Status::ok();
    }
    if (j.contains("raw")) {
      std::string data = str_of(j["raw"], "data");
      if (Status s = write_file(dest, data, 0644); !s) return s;
      return a.mode ? (::chmod(dest.c_str(), static_cast<mode_t>(*a.mode)) == 0 ? Status::ok() : errno_status("chmod", errno))
                    : Status::ok();
    }
    if (j.contains("http")) {
      std::string url = str_of(j["http"], "url");
      if (url.empty()) return invalid("http artifact needs a url");
      net::HttpClient client(net::ClientOptions{.timeouts = {.connect_ms = 10000, .stall_s = 60}, .max_redirects = 5});
      net::Request req;
      req.url = url;
      if (j["http"].contains("headers") && j["http"]["headers"].is_array()) {
        for (const auto& h : j["http"]["headers"])
          if (h.is_object()) req.headers.emplace_back(str_of(h, "name"), str_of(h, "value"));
      }
      Fd out(::open(download.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!out.valid()) return errno_status("creating " + download, errno);
      uint64_t got = 0;
      bool too_big = false;
      req.on_body = [&](const char* data, size_t size) {
        got += size;
        if (got > options.max_download) return !(too_big = true);
        return ::write(out.get(), data, size) == static_cast<ssize_t>(size);
      };
      auto resp = client.send(req);
      if (!resp) return resp.status().with_context("GET " + url);
      if (resp->status / 100 != 2)
        return Status(Code::kFailed, "GET " + url + ": HTTP " + std::to_string(resp->status) + " " + resp->body.substr(0, 200));
      if (too_big) return Status(Code::kFailed, "GET " + url + ": more than " + std::to_string(options.max_download) + " bytes");
    } else if (j.contains("s3")) {
      auto choice = repository(wf);
      if (!choice) return choice.status();
      auto repo = repository_of(a.source_json, options.data_dir, wf.namespace_, choice->repo);
      if (!repo) return repo.status();
      std::string key = without_trailing_slashes(str_of(j["s3"], "key"));  // "dir/" names a prefix
      if (Status s = check_artifact_key(key); !s) return s;
      auto info = (*repo)->stat(key);
      if (info) {
        if (Status s = (*repo)->get(key, download, options.max_download); !s) return s;
      } else if (info.status().code() == Code::kNotFound) {
        // A key that is a "directory": every object under it (archive none, or many
        // producers writing under one prefix).
        auto list = (*repo)->list(key + "/");
        if (!list) return list.status();
        if (list->empty()) return Status(Code::kNotFound, "no artifact " + key + " in " + (*repo)->describe());
        for (const auto& o : *list) {
          std::string file = download + "/" + o.key.substr(key.size() + 1);
          if (Status s = make_dirs(fs::path(file).parent_path().string()); !s) return s;
          if (Status s = (*repo)->get(o.key, file, options.max_download); !s) return s;
        }
      } else {
        return info.status();
      }
    } else {
      return invalid("names no location skiff can read (s3, raw, http, git)");
    }
    // A part of it: the argument's subPath (or the declaration's), as the engine resolved it.
    std::string sub_path = str_of(j, "subPath");
    std::string unpacked = sub_path.empty() ? dest : dest + ".whole";
    fs::remove_all(unpacked);
    if (fs::is_directory(download)) {
      std::error_code ec;
      fs::rename(download, unpacked, ec);
      if (ec) return Status(Code::kFailed, "moving " + download + ": " + ec.message());
    } else if (Status s = unpack_artifact(download, unpacked, -1); !s) {
      return s;
    }
    if (!sub_path.empty()) {
      auto sub = clean_absolute_path("/" + sub_path);
      if (!sub || sub_path[0] == '/') return invalid("subPath \"" + sub_path + "\" must be a relative path without \"..\"");
      std::error_code ec;
      if (fs::is_symlink(unpacked + *sub, ec) || !fs::exists(unpacked + *sub, ec))
        return Status(Code::kNotFound, "subPath " + sub_path + " is not in the artifact");
      fs::rename(unpacked + *sub, dest, ec);
      fs::remove_all(unpacked, ec);
      if (ec) return Status(Code::kFailed, "subPath " + sub_path + ": " + ec.message());
    }
    if (a.mode) {
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(dest, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (!it->is_symlink()) ::chmod(it->path().c_str(), static_cast<mode_t>(*a.mode));
      if (!fs::is_symlink(dest)) ::chmod(dest.c_str(), static_cast<mode_t>(*a.mode));
    }
    return Status::ok();
  }

  Status fetch_inputs(StepRequest& request) {
    const WorkflowContext& wf = context_of(request);
    std::string dir = wf.run_dir + "/artifacts/" + file_name_for(request.node_id);
    remove_tree(dir);
    if (Status s = make_dirs(dir); !s) return s;
    for (const auto& a : request.tmpl.inputs.artifacts) {
      if (a.path.empty()) continue;  // only passed on (a DAG's), or nowhere to put it
      std::string dest = dir + "/" + a.name;
      if (Status s = fetch_one(request, a, dest); !s) {
        return Status(s.code(), "failed to load artifacts: input artifact \"" + a.name + "\": " + s.message());
      }
      request.extra_mounts.push_back({dest, a.path});
    }
    return Status::ok();
  }

  // Stores one output artifact; returns its status JSON.
  Result<Json> store_one(const Job& job, const spec::Artifact& a, const std::string& file, const RepositoryChoice& choice) {
    const WorkflowContext& wf = *job.declared.workflow;
    Json location = Json::parse(a.source_json, nullptr, false);
    std::string key =
        without_trailing_slashes(location.is_object() && location.contains("s3") ? str_of(location["s3"], "key") : "");
    auto repo = repository_of(a.source_json, options.data_dir, wf.namespace_, choice.repo);
    if (!repo) return repo.status();
    if (key.empty()) {
      auto prefix = format_key(choice.key_format, wf, job.declared.pod_name);
      if (!prefix) return prefix.status();
      key = *prefix + "/" + stored_name(a);
    }
    if (Status s = check_artifact_key(key); !s) return s;
    Json out = {{"name", a.name}, {"path", a.path}};
    Json s3 = location.is_object() && location.contains("s3") ? location["s3"] : Json::object();
    s3["key"] = key;
    out["s3"] = s3;
    std::string gc = a.artifact_gc.empty() ? wf.artifact_gc : a.artifact_gc;
    if (!gc.empty() && gc != "Never") out["artifactGC"] = {{"strategy", gc}};
    if (a.archive == spec::ArchiveKind::kNone) out["archive"] = {{"none", Json::object()}};
    if (a.archive == spec::ArchiveKind::kZip) out["archive"] = {{"zip", Json::object()}};
    if (a.archive == spec::ArchiveKind::kNone && fs::is_directory(file)) {  // each file under the key
      auto files = list_files(file);
      if (!files) return files.status();
      for (const auto& rel : *files)
        if (Status s = (*repo)->put(key + "/" + rel, file + "/" + rel); !s) return s;
      return out;
    }
    std::string packed = file + ".packed";
    std::string entry = fs::path(without_trailing_slashes(a.path)).filename().string();
    if (Status s = pack_artifact(file, entry.empty() ? a.name : entry, a.archive, a.compression_level, packed); !s)
      return s;
    Status s = (*repo)->put(key, packed);
    ::unlink(packed.c_str());
    if (!s) return s;
    return out;
  }

  // artifactGC: deletes each artifact (a directory stored with archive none: every object
  // under its key). Failures are logged, not retried (Argo retries through a Pod).
  void collect(const Job& job) {
    auto choice = repository(job.workflow);
    if (!choice) {
      warn("artifactGC of " + job.workflow.namespace_ + "/" + job.workflow.name + ": " + choice.status().message());
      return;
    }
    for (const std::string& text : job.artifacts) {
      Json a = Json::parse(text, nullptr, false);
      std::string key = a.is_object() && a.contains("s3") ? str_of(a["s3"], "key") : "";
      if (key.empty()) continue;
      auto repo = repository_of(text, options.data_dir, job.workflow.namespace_, choice->repo);
      Status s = repo ? (*repo)->remove(key) : repo.status();
      if (s && a.contains("archive") && a["archive"].is_object() && a["archive"].contains("none")) {
        auto under = (*repo)->list(key + "/");
        for (const auto& o : under ? *under : std::vector<ObjectInfo>{}) s = (*repo)->remove(o.key);
      }
      if (!s) warn("artifactGC of " + job.workflow.namespace_ + "/" + job.workflow.name + ", " + key + ": " + s.message());
    }
  }

  void store_outputs(Job& job) {
    StepResult& r = job.result;
    const WorkflowContext& wf = *job.declared.workflow;
    auto choice = repository(wf);
    std::string failure;
    for (const auto& a : job.declared.outputs) {
      auto it = r.artifact_files.find(a.name);
      if (it == r.artifact_files.end() || it->second.rfind('!', 0) == 0) {
        if (a.optional || r.exit_code != 0) continue;
        failure = "output artifact \"" + a.name + "\": " +
                  (it == r.artifact_files.end() ? a.path + " does not exist (mark it optional: true if it may be missing)"
                                                : it->second.substr(1));
        break;
      }
      if (!choice) {
        failure = choice.status().message();
        break;
      }
      auto stored = store_one(job, a, it->second, *choice);
      if (!stored) {
        failure = "output artifact \"" + a.name + "\": " + stored.status().message();
        break;
      }
      r.output_artifacts[a.name] = dump(*stored);
    }
    if (choice && job.declared.archive_logs && failure.empty()) {
      StepFiles files = step_files(wf.run_dir, r.node_id);
      auto prefix = format_key(choice->key_format, wf, job.declared.pod_name);
      if (prefix && ::access(files.log.c_str(), R_OK) == 0) {
        std::string key = *prefix + "/main.log";
        if (Status s = choice->repo->put(key, files.log); s)
          r.output_artifacts["main-logs"] = dump(Json{{"name", "main-logs"}, {"s3", {{"key", key}}}});
        else
          failure = "archiving the step's log: " + s.message();
      }
    }
    remove_tree(step_files(wf.run_dir, r.node_id).artifacts);
    r.artifact_files.clear();
    if (!failure.empty() && !r.error) {
      r.error = true;
      r.message = "failed to save outputs: " + failure;
    }
  }
};

ArtifactExecutor::ArtifactExecutor(std::unique_ptr<Executor> inner, ArtifactOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->inner = std::move(inner);
  impl_->options = std::move(options);
  impl_->default_workflow.run_dir = impl_->options.run_dir;
  impl_->own_interrupt = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  impl_->interrupt_fd = impl_->own_interrupt.get();
  impl_->inner->set_interrupt_fd(impl_->interrupt_fd);
  for (int i = 0; i < std::max(1, impl_->options.workers); ++i) impl_->workers.emplace_back([this] { impl_->work(); });
}

ArtifactExecutor::~ArtifactExecutor() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers) t.join();
}

void ArtifactExecutor::start(StepRequest request) {
  Impl& m = *impl_;
  bool outputs = false;
  for (const auto& a : request.tmpl.outputs.artifacts) outputs |= !a.path.empty();
  auto wf = request.workflow ? request.workflow : std::make_shared<const WorkflowContext>(m.default_workflow);
  // Is the log archived? The template says, else the workflow, else its repository.
  bool archive_logs = false;
  if (request.tmpl.archive_logs) {
    archive_logs = *request.tmpl.archive_logs;
  } else if (wf->archive_logs) {
    archive_logs = *wf->archive_logs;
  } else if (!request.tmpl.resource) {
    auto choice = m.repository(*wf);
    archive_logs = choice && choice->archive_logs;
  }
  if (outputs || archive_logs) {
    Impl::Declared d;
    for (const auto& a : request.tmpl.outputs.artifacts)
      if (!a.path.empty()) d.outputs.push_back(a);
    d.workflow = wf;
    d.pod_name = request.pod_name;
    d.archive_logs = archive_logs;
    m.declared[request.node_id] = std::move(d);
  }
  bool inputs = false;
  for (const auto& a : request.tmpl.inputs.artifacts) inputs |= !a.path.empty();
  if (!inputs || request.adopt) {
    // An adopted step fetched its inputs before the restart: give it the same mounts.
    if (inputs) {
      std::string dir = wf->run_dir + "/artifacts/" + file_name_for(request.node_id);
      for (const auto& a : request.tmpl.inputs.artifacts)
        if (!a.path.empty()) request.extra_mounts.push_back({dir + "/" + a.name, a.path});
    }
    m.inner->start(std::move(request));
    return;
  }
  auto job = std::make_shared<Impl::Job>();
  job->request = std::move(request);
  std::lock_guard<std::mutex> lock(m.mu);
  m.busy[job->request.node_id] = job;
  m.queue.push_back(std::move(job));
  m.cv.notify_one();
}

void ArtifactExecutor::workflow_ended(const WorkflowContext& workflow, bool succeeded) {
  impl_->inner->workflow_ended(workflow, succeeded);
}

void ArtifactExecutor::collect_artifacts(const WorkflowContext& workflow, std::vector<std::string> artifacts) {
  if (artifacts.empty()) return;
  auto job = std::make_shared<Impl::Job>();
  job->kind = Impl::Job::kCollect;
  job->workflow = workflow;
  job->artifacts = std::move(artifacts);
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->queue.push_back(std::move(job));
  impl_->cv.notify_one();
}

void ArtifactExecutor::kill(const std::string& node_id, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->busy.find(node_id);
    if (it != impl_->busy.end()) {
      if (it->second->kind == Impl::Job::kFetch) {
        it->second->kill_reason = reason;
        it->second->cancelled = true;
      }
      return;  // a store: the step has ended already
    }
  }
  impl_->inner->kill(node_id, reason);
}

Result<std::vector<std::string>> ArtifactExecutor::exec_command(const std::string& node_id,
                                                                const std::vector<std::string>& command) const {
  return impl_->inner->exec_command(node_id, command);
}

std::vector<StepResult> ArtifactExecutor::wait(int timeout_ms) {
  Impl& m = *impl_;
  auto take = [&](std::vector<StepResult>& out, std::vector<StepRequest>& ready) {
    std::lock_guard<std::mutex> lock(m.mu);
    for (auto& r : m.done) {
      m.busy.erase(r.node_id);
      out.push_back(std::move(r));
    }
    m.done.clear();
    for (auto& r : m.ready) {
      m.busy.erase(r.node_id);
      ready.push_back(std::move(r));
    }
    m.ready.clear();
  };
  std::vector<StepResult> out;
  std::vector<StepRequest> ready;
  take(out, ready);
  for (auto& r : ready) m.inner->start(std::move(r));
  std::vector<StepResult> more = m.inner->wait(out.empty() && ready.empty() ? timeout_ms : 0);
  if (m.own_interrupt.valid() && m.interrupt_fd == m.own_interrupt.get()) {
    uint64_t n;
    (void)!::read(m.interrupt_fd, &n, sizeof n);
  }
  for (auto& r : more) {
    auto d = m.declared.find(r.node_id);
    if (d == m.declared.end()) {
      out.push_back(std::move(r));
      continue;
    }
    auto job = std::make_shared<Impl::Job>();
    job->kind = Impl::Job::kStore;
    job->declared = std::move(d->second);
    m.declared.erase(d);
    job->result = std::move(r);
    std::lock_guard<std::mutex> lock(m.mu);
    m.busy[job->result.node_id] = job;
    m.queue.push_back(std::move(job));
    m.cv.notify_one();
  }
  ready.clear();
  take(out, ready);
  for (auto& r : ready) m.inner->start(std::move(r));
  return out;
}

size_t ArtifactExecutor::running() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->inner->running() + impl_->busy.size();
}

std::vector<StepStarted> ArtifactExecutor::take_started() { return impl_->inner->take_started(); }

void ArtifactExecutor::set_interrupt_fd(int fd) {
  impl_->interrupt_fd = fd >= 0 ? fd : impl_->own_interrupt.get();
  impl_->inner->set_interrupt_fd(impl_->interrupt_fd);
}

Status ArtifactExecutor::open_workflow(WorkflowContext* context) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->repos.erase({context->namespace_, context->name});  // its config may have changed
  }
  return impl_->inner->open_workflow(context);
}

void ArtifactExecutor::release_workflow(const std::string& namespace_, const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->repos.erase({namespace_, name});
  }
  impl_->inner->release_workflow(namespace_, name);
}

Result<LogChunk> ArtifactExecutor::read_log(const LogRef& ref, uint64_t offset, size_t max) const {
  return impl_->inner->read_log(ref, offset, max);
}

}  // namespace skiff::runtime
