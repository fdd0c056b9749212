#include "server/app_controller.h"

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/workflow_json.h"
#include "runtime/secret_store.h"
#include "server/app_metrics.h"
#include "server/app_operation.h"
#include "server/app_routes.h"
#include "server/objects.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::server {
namespace {

using KJson = nlohmann::json;  // what cd/ and kube/ speak (the API's Json keeps key order)

constexpr const char* kInCluster = "https://kubernetes.default.svc";

std::string now_text(const engine::Clock& clock) { return engine::rfc3339(clock.now_ms()); }

// Argo CD's status.summary: the images the app's live objects run, and externalURLs — here
// the ports Services publish on 127.0.0.1 (status.loadBalancer.ingress, this machine's).
KJson summary(const cd::Comparison& comparison) {
  std::set<std::string> images, urls;
  for (const auto& r : comparison.resources) {
    const KJson& live = r.live;
    for (const KJson& c : array_member(object_member(object_member(object_member(live, "spec"), "template"), "spec"), "containers"))
      if (c.is_object() && c.contains("image") && c["image"].is_string()) images.insert(c["image"].get<std::string>());
    for (const KJson& in : array_member(object_member(object_member(live, "status"), "loadBalancer"), "ingress"))
      for (const KJson& p : array_member(in, "ports"))
        if (in.is_object() && in.contains("ip") && in["ip"].is_string() && p.is_object() && p.contains("port") && p["port"].is_number_integer())
          urls.insert("http://" + in["ip"].get<std::string>() + ":" + std::to_string(p["port"].get<int>()));
  }
  KJson out = KJson::object();
  if (!images.empty()) out["images"] = images;
  if (!urls.empty()) out["externalURLs"] = urls;
  return out;
}

// What a comparison was made against, as Argo CD's status.sync.comparedTo: the spec's
// source(s), destination and ignoreDifferences as written.
KJson compared_to(const KJson& app) {
  const KJson spec = object_member(app, "spec");
  KJson compared = KJson::object();
  for (const char* field : {"source", "sources", "destination", "ignoreDifferences"})
    if (spec.contains(field)) compared[field] = spec[field];
  return compared;
}

// The repository's credentials as Argo CD keeps them, here among the app namespace's Secrets:
// labelled argocd.argoproj.io/secret-type `repository` (its `url` is the repository's) or
// `repo-creds` (its `url` a prefix of the repository's), with `type` git (or helm for a
// chart's repository; git when absent); an unlabelled Secret with that `type` and a `url`
// prefix counts too. TLS CAs in the ConfigMap argocd-tls-certs-cm, by host name.
cd::RepoCredentials credentials_for(const std::string& data_dir, const std::string& ns, const std::string& url,
                                    const std::string& type = "git") {
  cd::RepoCredentials creds;
  size_t best = 0;
  for (const auto& [name, secret] : runtime::list_config_objects(data_dir, runtime::ConfigKind::kSecret, ns)) {
    auto get = [&](const char* key) {
      auto it = secret.data.find(key);
      return it == secret.data.end() ? std::string() : it->second;
    };
    auto label = secret.labels.find(kSecretTypeLabel);
    std::string secret_type = label == secret.labels.end() ? "" : label->second;
    std::string prefix = get("url");
    std::string kind = get("type").empty() && !secret_type.empty() ? "git" : get("type");
    if (kind != type || prefix.empty() || url.rfind(prefix, 0) != 0 || prefix.size() <= best) continue;
    if (secret_type == "repository" && prefix != url) continue;  // one repository's, not a prefix
    if (!secret_type.empty() && secret_type != "repository" && secret_type != "repo-creds") continue;
    best = prefix.size();
    creds.username = get("username");
    creds.password = get("password");
    creds.ssh_private_key = get("sshPrivateKey");
    creds.insecure = get("insecure") == "true";
  }
  std::string host = url;
  if (size_t scheme = host.find("://"); scheme != std::string::npos) host = host.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/:"));
  if (auto certs = runtime::read_config_object(data_dir, runtime::ConfigKind::kConfigMap, ns, "argocd-tls-certs-cm")) {
    auto it = certs->data.find(host);
    if (it != certs->data.end()) creds.ca_pem = it->second;
  }
  return creds;
}

// When an automated sync that failed may be tried again (syncPolicy.retry: Argo CD's backoff,
// `duration` * `factor`^n capped at `maxDuration`), in epoch ms; -1: not again at this revision.
int64_t retry_due_ms(const spec::SyncPolicy& policy, const KJson& operation_state) {
  if (!policy.automated || !policy.retry || operation_state.value("phase", "") != "Failed") return -1;
  const spec::SyncRetry& retry = *policy.retry;
  int64_t count = operation_state.value("retryCount", int64_t{0});
  if (retry.limit >= 0 && count >= retry.limit) return -1;
  int64_t finished = engine::parse_rfc3339(operation_state.value("finishedAt", ""));
  if (finished < 0) return -1;
  long long base = retry.backoff_duration.empty() ? 5000 : parse_duration_ms(retry.backoff_duration);
  long long cap = retry.backoff_max_duration.empty() ? 180000 : parse_duration_ms(retry.backoff_max_duration);
  if (base < 0) base = 5000;
  if (cap < 0) cap = 180000;
  double wait = static_cast<double>(base);
  for (int64_t i = 0; i < count && wait < cap; ++i) wait *= std::max<int64_t>(1, retry.backoff_factor);
  return finished + static_cast<int64_t>(std::min<double>(wait, static_cast<double>(cap)));
}

bool glob(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// Whether {group, kind} is in an AppProject's resource list (JSON as written; globs).
bool listed(const std::string& list_json, const std::string& group, const std::string& kind) {
  KJson list = parse_json_or_discarded<KJson>(list_json);
  if (!list.is_array()) return false;
  for (const auto& e : list) {
    if (!e.is_object()) continue;
    if (glob(e.value("group", "*"), group) && glob(e.value("kind", "*"), kind)) return true;
  }
  return false;
}

// What the app's AppProject does not permit (Argo CD's checks): its repositories, its
// destination, the namespace it lives in. "" when all is permitted.
std::string project_refusal(const spec::AppProjectSpec& project, const std::string& project_name,
                            const spec::ApplicationSpec& app, const std::string& app_namespace) {
  for (const auto& source : app.sources) {
    bool ok = std::any_of(project.source_repos.begin(), project.source_repos.end(),
                          [&](const std::string& p) { return glob(p, source.repo_url); });
    if (!ok) return "application repo " + source.repo_url + " is not permitted in project '" + project_name + "'";
  }
  const spec::AppDestination& d = app.destination;
  bool ok = std::any_of(project.destinations.begin(), project.destinations.end(), [&](const spec::AppDestination& p) {
    bool where = d.server.empty() ? glob(p.name.empty() ? "*" : p.name, d.name) : glob(p.server.empty() ? "*" : p.server, d.server);
    return where && glob(p.namespace_.empty() ? "*" : p.namespace_, d.namespace_);
  });
  if (!ok)
    return "application destination server '" + (d.server.empty() ? d.name : d.server) + "' and namespace '" + d.namespace_ +
           "' do not match any of the allowed destinations in project '" + project_name + "'";
  if (app_namespace != kArgoCdNamespace &&
      !std::any_of(project.source_namespaces.begin(), project.source_namespaces.end(),
                   [&](const std::string& p) { return glob(p, app_namespace); }))
    return "application in namespace " + app_namespace + " is not permitted in project '" + project_name + "'";
  return "";
}

// Whether the project lets the app deploy `manifest` (its white and black lists of kinds);
// "" when it does, else Argo CD's message.
std::string resource_refusal(const spec::AppProjectSpec& project, const std::string& project_name,
                             const cd::Destinations& dest, const KJson& manifest) {
  cd::ResourceKey k = cd::key_of(manifest);
  bool namespaced = cd::is_namespaced(dest, manifest.value("apiVersion", ""), k.kind);
  bool permitted = namespaced ? !listed(project.namespace_resource_blacklist_json, k.group, k.kind) &&
                                    (project.namespace_resource_whitelist_json.empty() ||
                                     listed(project.namespace_resource_whitelist_json, k.group, k.kind))
                              : listed(project.cluster_resource_whitelist_json, k.group, k.kind) &&
                                    !listed(project.cluster_resource_blacklist_json, k.group, k.kind);
  return permitted ? "" : "resource " + k.group + ":" + k.kind + " \"" + k.name + "\" is not permitted in project " + project_name;
}

// Fields of an Application or its AppProject that skiff accepts and does not carry out yet:
// `refused` those whose neglect would sync what the user forbade (sync windows, signature
// checks, impersonation), `ignored` the rest (warned). Each as its JSON path.
void not_carried_out(const KJson& app, const KJson& project, std::vector<std::string>* refused,
                     std::vector<std::string>* ignored) {
  const KJson spec = object_member(app, "spec");
  if (object_member(object_member(spec, "syncPolicy"), "retry").contains("refresh")) ignored->push_back("spec.syncPolicy.retry.refresh");
  KJson sources = array_member(spec, "sources");
  if (spec.contains("source")) sources.push_back(object_member(spec, "source"));
  for (const auto& source : sources) {
    const KJson k = object_member(source, "kustomize");
    for (const char* field : {"forceCommonLabels", "forceCommonAnnotations", "commonAnnotationsEnvsubst", "version",
                              "labelWithoutSelector", "kubeVersion", "apiVersions"})
      if (k.contains(field)) ignored->push_back(std::string("spec.source.kustomize.") + field);
    const KJson h = object_member(source, "helm");
    for (const char* field : {"passCredentials", "ignoreMissingValueFiles", "version", "namespace", "kubeVersion",
                              "apiVersions", "skipTests", "skipSchemaValidation"})
      if (h.contains(field)) ignored->push_back(std::string("spec.source.helm.") + field);
  }
  const KJson p = object_member(project, "spec");
  for (const char* field : {"syncWindows", "signatureKeys", "destinationServiceAccounts"})
    if (p.contains(field)) refused->push_back(std::string("AppProject spec.") + field);
  for (const char* field : {"roles", "orphanedResources", "permitOnlyProjectScopedClusters"})
    if (p.contains(field)) ignored->push_back(std::string("AppProject spec.") + field);
}

// A stored Application or AppProject (its API JSON) decoded as the API decodes it.
Result<spec::Object> decode_stored(spec::Kind kind, const KJson& object, const std::string& ns) {
  return decode_object(Json{{spec::kind_info(kind).body_field, Json(object)}}, kind, ns);
}

}  // namespace

struct AppController::Rendered {
  std::vector<KJson> manifests;
  std::string revision;     // the (first) source's commit
  std::string source_type;  // Directory | Kustomize | Helm
};

AppController::AppController(ApiContext& ctx, std::shared_ptr<kube::ObjectApi> local,
                             std::shared_ptr<kube::Client> cluster, AppControllerOptions options)
    : ctx_(ctx),
      local_(std::move(local)),
      cluster_(std::move(cluster)),
      options_(std::move(options)),
      git_(options_.cache_dir, {}, [&ctx] { return ctx.clock.now_ms(); }),
      charts_((std::filesystem::path(options_.cache_dir).parent_path() / "charts").string(), options_.render),
      clusters_(ctx.options.data_dir),
      worker_([this] { work(); }) {
  if (options_.metrics) git_.set_fetch_observer([m = options_.metrics](const std::string& url) { count_git_fetch(*m, url); });
}

AppController::~AppController() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void AppController::tick() {
  try {
    schedule();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "skiff server: the application controller's tick failed: %s\n", e.what());
  }
}

// When a stored Application (its JSON) is next due, in epoch ms; kAskedNow when the API asked
// for it (a new app, a refresh, an operation, a delete).
int64_t AppController::due_ms(const KJson& app, const std::string& ns) const {
  const KJson meta = object_member(app, "metadata");
  const KJson annotations = object_member(meta, "annotations");
  const KJson status = object_member(app, "status");
  int64_t reconciled = engine::parse_rfc3339(status.value("reconciledAt", ""));
  // As Argo CD: an operation, a refresh asked, a deletion, or a spec no longer what the
  // last comparison was made against (an edited source or destination) makes it due now.
  bool asked = app.contains("operation") || meta.contains("deletionTimestamp") || annotations.contains(kRefreshAnnotation) ||
               (reconciled >= 0 && object_member(object_member(status, "sync"), "comparedTo") != compared_to(app));
  if (reconciled < 0 || asked) return kAskedNow;
  int64_t when = reconciled + options_.resync_ms;
  // A sync operation under way continues soon (at once when asked to terminate).
  if (operation_running(status)) {
    if (object_member(status, "operationState").value("phase", "") == "Terminating") return kAskedNow;
    when = std::min(when, reconciled + kOperationPollMs);
  }
  // A failed automated sync with syncPolicy.retry comes back at its backoff time.
  const KJson state = object_member(status, "operationState");
  if (state.value("phase", "") == "Failed" && object_member(object_member(app, "spec"), "syncPolicy").contains("retry")) {
    int64_t finished = engine::parse_rfc3339(state.value("finishedAt", ""));
    auto decoded = decode_stored(spec::Kind::kApplication, app, ns);
    if (decoded && decoded->app && finished >= 0) {
      int64_t at = retry_due_ms(decoded->app->sync_policy, state);
      if (at >= 0 && at < when) when = at;
    }
  }
  return when;
}

// The due times are kept by (namespace, name) with the stored version they were read from:
// a poke reads only the versions, and parses only the apps that changed since.
void AppController::schedule() {
  auto versions = ctx_.store.list_object_versions(spec::Kind::kApplication, "");
  if (!versions) return;
  int64_t now = ctx_.clock.now_ms();
  int64_t next = -1;
  std::vector<std::pair<std::string, std::string>> due, asked;
  std::map<std::pair<std::string, std::string>, Due> index;
  for (auto& rec : *versions) {
    std::pair<std::string, std::string> key(rec.namespace_, rec.name);
    auto it = due_index_.find(key);
    Due entry;
    if (it != due_index_.end() && it->second.version == rec.version) {
      entry = it->second;
    } else {
      auto stored = ctx_.store.get_object(spec::Kind::kApplication, rec.namespace_, rec.name);
      if (!stored) continue;
      KJson app = parse_json_or_discarded<KJson>(stored->body);
      if (!app.is_object()) continue;
      entry = {stored->version, due_ms(app, rec.namespace_)};
    }
    if (entry.when == kAskedNow) asked.push_back(key);
    else if (entry.when <= now) due.push_back(key);
    else if (next < 0 || entry.when < next) next = entry.when;
    index.emplace(std::move(key), entry);
  }
  due_index_ = std::move(index);
  next_wakeup_ = next;
  if (due.empty() && asked.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Not again what the worker is reconciling from the same stored version.
    auto enqueue = [&](const std::pair<std::string, std::string>& key, bool front) {
      if (key == in_flight_ && due_index_[key].version == in_flight_version_) return;
      if (!queued_.emplace(key, Queued{now, due_index_[key].version}).second) return;
      front ? queue_.push_front(key) : queue_.push_back(key);
    };
    // What the API asked for goes before the periodic resyncs.
    for (auto it = asked.rbegin(); it != asked.rend(); ++it) enqueue(*it, true);
    for (auto& key : due) enqueue(key, false);
  }
  wake_.notify_one();
}

int64_t AppController::next_wakeup_ms() const { return next_wakeup_; }

void AppController::refresh(const std::string& name) {
  auto apps = ctx_.store.list_objects(spec::Kind::kApplication, "");
  if (!apps) return;
  {
    // Also when the worker is reconciling it now: it may have read the live objects before.
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& rec : *apps) {
      std::pair<std::string, std::string> key{rec.namespace_, rec.name};
      if (rec.name == name && queued_.emplace(key, Queued{ctx_.clock.now_ms(), rec.version}).second) queue_.push_back(key);
    }
  }
  wake_.notify_one();
}

void AppController::invalidate_repo(const std::string& url) { git_.invalidate(url); }

void AppController::work() {
  for (;;) {
    std::pair<std::string, std::string> key;
    int64_t queued_at = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      key = queue_.front();
      queue_.pop_front();
      queued_at = queued_[key].at;
      in_flight_ = key;
      in_flight_version_ = queued_[key].version;
          queued_.erase(key);
    }
    // A stored or live object of an unexpected shape must not take the server down.
    try {
      auto started = std::chrono::steady_clock::now();
      last_destination_.clear();
      reconcile(key.first, key.second, queued_at);
      if (options_.metrics)
        observe_reconcile(*options_.metrics, key.first, last_destination_,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "skiff server: application %s/%s: reconcile failed: %s\n", key.first.c_str(),
                   key.second.c_str(), e.what());
    }
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ = {};
  }
}

std::optional<spec::AppProjectSpec> AppController::load_project(const std::string& name, KJson* json,
                                                                std::string* error) const {
  // No AppProject named default stored: the implicit one, which allows everything.
  if (name == "default" && !ctx_.store.get_object(spec::Kind::kAppProject, kArgoCdNamespace, "default")) return std::nullopt;
  auto stored = ctx_.store.get_object(spec::Kind::kAppProject, kArgoCdNamespace, name);
  if (stored) *json = parse_json_or_discarded<KJson>(stored->body);
  auto decoded = stored ? decode_stored(spec::Kind::kAppProject, *json, kArgoCdNamespace) : Result<spec::Object>(stored.status());
  if (decoded && decoded->app_project) return *decoded->app_project;
  if (name != "default") *error = "application references project " + name + " which does not exist";
  return std::nullopt;
}

Result<std::shared_ptr<kube::Client>> AppController::cluster_for(const std::string& server, const std::string& name) {
  // The server's own cluster (none: skiff's own kinds only) is in-cluster, as in Argo CD.
  if ((server.empty() && (name.empty() || name == "in-cluster")) || server == kInCluster ||
      (cluster_ && server == cluster_->config().server))
    return cluster_;
  return clusters_.find(server, name);
}

cd::Destinations AppController::destinations(const std::shared_ptr<kube::Client>& cluster) const {
  cd::Destinations d;
  d.local = local_.get();
  // No cluster for the in-cluster destination: this machine, when it can run containers.
  d.cluster = cluster ? cluster.get() : options_.machine.get();
  if (!options_.no_cluster_hint.empty()) d.no_cluster_hint = options_.no_cluster_hint;
  if (cluster) {
    kube::Client* client = cluster.get();
    d.namespaced = [client](const std::string& api_version, const std::string& kind) -> std::optional<bool> {
      auto info = client->resolve(api_version, kind);
      if (!info) return std::nullopt;
      return info->namespaced;
    };
  }
  return d;
}

Result<AppController::Rendered> AppController::render_app(const std::string& ns, const std::string& name,
                                                          const spec::Object& obj, const std::string& revision,
                                                          int64_t fetched_since) {
  const spec::ApplicationSpec& app = *obj.app;
  Rendered out;
  // A source's files: a chart from a Helm repository (chart.h), else a git checkout.
  auto fetch = [&](const spec::AppSource& source, const std::string& rev) {
    if (!source.chart.empty())
      return charts_.pull(source.repo_url, source.chart, rev,
                          credentials_for(ctx_.options.data_dir, ns, source.repo_url, "helm"));
    return git_.checkout_since(source.repo_url, rev, credentials_for(ctx_.options.data_dir, ns, source.repo_url),
                               fetched_since);
  };
  std::map<std::string, std::string> refs;  // sources with a `ref`, for "$ref/..." value files
  for (const spec::AppSource& source : app.sources) {
    if (source.ref.empty()) continue;
    auto checkout = fetch(source, source.target_revision);
    if (!checkout) return checkout.status().with_context("source with ref " + source.ref);
    refs[source.ref] = checkout->dir;
  }
  for (size_t i = 0; i < app.sources.size(); ++i) {
    const spec::AppSource& source = app.sources[i];
    if (!source.ref.empty() && source.path.empty() && source.chart.empty()) continue;  // a values-only source
    std::string rev = i == 0 && !revision.empty() ? revision : source.target_revision;
    auto checkout = fetch(source, rev);
    if (!checkout) return checkout.status();
    if (out.revision.empty()) out.revision = checkout->commit;
    cd::RenderRequest request;
    request.source = source;
    request.root = checkout->dir;
    request.refs = refs;
    request.app_name = name;
    request.namespace_ = app.destination.namespace_;
    if (out.source_type.empty()) {
      auto type = cd::source_type(request);
      if (type) out.source_type = *type;
    }
    auto manifests = cd::render(request, options_.render);
    if (!manifests) return manifests.status();
    for (auto& m : *manifests) out.manifests.push_back(std::move(m));
  }
  return out;
}

Status AppController::write_status(const std::string& ns, const std::string& name, const KJson& status,
                                   const KJson& ran_operation, bool refresh_again) {
  for (int attempt = 1;; ++attempt) {
    auto rec = ctx_.store.get_object(spec::Kind::kApplication, ns, name);
    if (!rec) return rec.status();
    KJson app = parse_json_or_discarded<KJson>(rec->body);
    if (!app.is_object()) return internal_error("the stored Application " + name + " is damaged");
    bool terminating = object_member(object_member(app, "status"), "operationState").value("phase", "") == "Terminating";
    app["status"] = status;
    // A terminate asked while this reconcile ran wins over the Running it writes.
    if (terminating && operation_running(status)) app["status"]["operationState"]["phase"] = "Terminating";
    if (!ran_operation.is_null() && app.contains("operation") && app["operation"] == ran_operation) app.erase("operation");
    if (refresh_again) {
      if (!app["metadata"]["annotations"].is_object()) app["metadata"]["annotations"] = KJson::object();
      app["metadata"]["annotations"][kRefreshAnnotation] = "normal";
    } else if (app.contains("metadata") && app["metadata"].contains("annotations") &&
               app["metadata"]["annotations"].is_object()) {
      app["metadata"]["annotations"].erase(kRefreshAnnotation);
    }
    const KJson before = object_member(parse_json_or_discarded<KJson>(rec->body), "status");
    rec->body = app.dump();
    Status st = ctx_.store.update_object(spec::Kind::kApplication, *rec);
    if (st.code() == Code::kConflict && attempt < kWriteAttempts) continue;
    if (st && options_.metrics) count_sync(*options_.metrics, app, before);
    return st;
  }
}

void AppController::finalize(const std::string& ns, const std::string& name, const KJson& app) {
  // resources-finalizer.argocd.argoproj.io[/background]: the app's resources go first.
  for (const auto& f : array_member(object_member(app, "metadata"), "finalizers")) {
    if (!f.is_string() || f.get<std::string>().rfind(kResourcesFinalizer, 0) != 0) continue;
    std::vector<cd::ResourceKey> keys;
    for (const auto& r : array_member(object_member(app, "status"), "resources")) keys.push_back(key_from(r));
    bool background = f.get<std::string>() == std::string(kResourcesFinalizer) + "/background";
    const KJson destination = object_member(object_member(app, "spec"), "destination");
    auto cluster = cluster_for(destination.value("server", ""), destination.value("name", ""));
    (void)cd::remove_tracked(name, keys, background ? kube::Propagation::kBackground : kube::Propagation::kForeground,
                             destinations(cluster ? *cluster : nullptr));
    break;
  }
  (void)ctx_.store.delete_object(spec::Kind::kApplication, ns, name);
  ctx_.poke_controllers();
}

void AppController::reconcile(const std::string& ns, const std::string& name) {
  reconcile(ns, name, ctx_.clock.now_ms());
}

int64_t AppController::fetched_since(const KJson& app, int64_t queued_ms) const {
  // What the API asked for (a refresh, an operation, a new app) reads the repository as it
  // is now: a fetch begun after the ask, shared by the apps asked with it. A periodic
  // reconcile takes a resolution up to one resync period old (Argo CD caches ls-remote).
  return due_ms(app, "") == kAskedNow ? queued_ms : ctx_.clock.now_ms() - options_.resync_ms;
}

void AppController::reconcile(const std::string& ns, const std::string& name, int64_t queued_ms) {
  auto rec = ctx_.store.get_object(spec::Kind::kApplication, ns, name);
  if (!rec) return;
  KJson app = parse_json_or_discarded<KJson>(rec->body);
  if (!app.is_object()) return;
  if (object_member(app, "metadata").contains("deletionTimestamp")) return finalize(ns, name, app);

  KJson status = object_member(app, "status");
  if (!status.is_object()) status = KJson::object();
  KJson conditions = KJson::array();
  bool comparison_failed = false;  // an error condition: the app's sync status is Unknown, nothing syncs by itself
  auto condition = [&](const char* type, const std::string& message) {
    conditions.push_back({{"type", type}, {"message", message}, {"lastTransitionTime", now_text(ctx_.clock)}});
    comparison_failed |= std::string(type) == "ComparisonError" || std::string(type) == "InvalidSpecError";
  };
  const KJson operation = app.value("operation", KJson());
  KJson ran_operation = operation;
  // A sync operation under way (status.operationState Running) continues at its revision.
  const KJson running =
      operation.is_null() && operation_running(status) ? object_member(status, "operationState") : KJson();

  auto decoded = decode_stored(spec::Kind::kApplication, app, ns);
  if (!decoded || !decoded->app) {
    condition("InvalidSpecError", decoded ? "the Application has no spec" : decoded.status().message());
    status["conditions"] = conditions;
    status["reconciledAt"] = now_text(ctx_.clock);
    status["sync"] = {{"status", "Unknown"}, {"comparedTo", compared_to(app)}};
    if (!operation.is_null())
      status["operationState"] = {{"operation", operation}, {"phase", "Error"}, {"message", conditions[0]["message"]},
                                  {"startedAt", now_text(ctx_.clock)}, {"finishedAt", now_text(ctx_.clock)}};
    (void)write_status(ns, name, status, ran_operation);
    return;
  }
  const spec::ApplicationSpec& spec = *decoded->app;
  auto cluster = cluster_for(spec.destination.server, spec.destination.name);
  cd::Destinations dest = destinations(cluster ? *cluster : nullptr);
  KJson project_json;
  std::string project_error;
  std::optional<spec::AppProjectSpec> project = load_project(spec.project, &project_json, &project_error);
  if (!project_error.empty()) condition("InvalidSpecError", project_error);
  else if (project)
    if (std::string why = project_refusal(*project, spec.project, spec, ns); !why.empty()) condition("InvalidSpecError", why);
  std::vector<std::string> refused, ignored;
  not_carried_out(app, project_json, &refused, &ignored);
  for (const auto& field : refused)
    condition("InvalidSpecError", field + " is not enforced by skiff yet, so it does not sync this application; remove it to sync with skiff");
  for (const auto& field : ignored) condition("UnknownError", field + " is not supported by skiff yet and is ignored");
  if (!cluster)
    condition("InvalidSpecError", "unable to find destination server: " + cluster.status().message() +
                                      (cluster.status().code() == Code::kNotFound
                                           ? "; deploy to " + std::string(kInCluster) + " or add the cluster as a secret in " +
                                                 kArgoCdNamespace + " with server and config (docs/cd.md)"
                                           : ""));

  // An operation may name a revision (a rollback does).
  KJson sync_op = object_member(operation.is_object() ? operation : object_member(running, "operation"), "sync");
  std::string revision = running.is_null() ? sync_op.value("revision", "")
                                           : object_member(running, "syncResult").value("revision", "");
  const spec::AppDestination& d = spec.destination;
  last_destination_ = !d.server.empty() ? d.server : d.name == "in-cluster" ? kInCluster : d.name;
  // A rollback's operation names the source of its history entry (helm parameters and all):
  // rendered from that rather than from the spec.
  std::optional<spec::Object> operation_app;
  if (sync_op.contains("source") && sync_op["source"].is_object() && !spec.multi_source) {
    KJson copy = app;
    copy["spec"]["source"] = sync_op["source"];
    auto from_operation = decode_stored(spec::Kind::kApplication, copy, ns);
    if (from_operation && from_operation->app) operation_app = std::move(*from_operation);
    else condition("InvalidSpecError", "the operation's source: " + from_operation.status().message());
  }
  auto rendered = !comparison_failed ? render_app(ns, name, operation_app ? *operation_app : *decoded, revision,
                                                    fetched_since(app, queued_ms))
                                     : Result<Rendered>(Status(Code::kInvalid, ""));
  if (!rendered && !comparison_failed) condition("ComparisonError", rendered.status().message());

  std::vector<cd::ResourceKey> previous;
  for (const auto& r : array_member(status, "resources")) previous.push_back(key_from(r));
  cd::CompareRequest compare_request;
  compare_request.app_name = name;
  compare_request.destination_namespace = spec.destination.namespace_;
  compare_request.previous = previous;
  compare_request.ignore_differences = spec.ignore_differences;
  compare_request.respect_ignore_differences =
      std::count(spec.sync_policy.sync_options.begin(), spec.sync_policy.sync_options.end(), "RespectIgnoreDifferences=true") > 0;
  compare_request.application_health = application_health_enabled(ctx_.options.data_dir);
  if (rendered) {
    for (auto& m : rendered->manifests) {
      if (std::string why = project ? resource_refusal(*project, spec.project, dest, m) : ""; !why.empty()) {
        condition("ComparisonError", why);
        continue;
      }
      compare_request.manifests.push_back(std::move(m));
    }
  }

  // One step of the sync operation `op_record` (Argo CD's Operation): a new one, or the one
  // `previous` (its operationState) left Running.
  auto run_sync = [&](cd::Comparison& comparison, const KJson& op_record, const KJson& previous) {
    cd::SyncRequest req = sync_request(spec, op_record);
    req.application_health = compare_request.application_health;
    cd::SyncOutcome outcome = cd::sync(name, comparison, req, dest,
                                       sync_progress(previous, rendered->revision, ctx_.clock.now_ms()));
    // The source as written (Argo CD's history keeps it whole, for rollbacks).
    const KJson op = object_member(op_record, "sync");
    const char* source_field = spec.multi_source ? "sources" : "source";
    KJson source = op.contains(source_field) ? op[source_field] : object_member(app, "spec").value(source_field, KJson());
    status["operationState"] = operation_state(op_record, outcome, previous, now_text(ctx_.clock),
                                               {{"revision", rendered->revision}, {source_field, source}});
    std::string started = status["operationState"].value("startedAt", "");
    // As Argo CD: a dry run, or a sync of selected resources, is not a deployment of the revision.
    if (outcome.phase == "Succeeded" && !req.dry_run && req.only.empty()) {
      KJson history = array_member(status, "history");
      int64_t id = history.empty() ? 0 : history.back().value("id", int64_t{0}) + 1;
      history.push_back({{"id", id}, {"revision", rendered ? rendered->revision : ""}, {"deployedAt", now_text(ctx_.clock)},
                         {"deployStartedAt", started}, {source_field, source},
                         {"initiatedBy", object_member(op_record, "initiatedBy")}});
      while (static_cast<int64_t>(history.size()) > std::max<int64_t>(1, spec.revision_history_limit))
        history.erase(history.begin());
      status["history"] = history;
    } else if (outcome.phase == "Failed") {
      condition("SyncError", outcome.message);
    }
    // What it left: compare again, so that status shows the result.
    comparison = cd::compare(compare_request, dest);
  };

  cd::Comparison comparison;
  if (rendered) {
    comparison = cd::compare(compare_request, dest);
    for (const auto& e : comparison.errors) condition("ComparisonError", e);
    for (const auto& [type, message] : comparison.warnings) condition(type.c_str(), message);
    if (!operation.is_null()) {
      run_sync(comparison, operation, KJson());
    } else if (!running.is_null()) {
      run_sync(comparison, object_member(running, "operation"), running);
    } else if (spec.sync_policy.automated && comparison.sync_status == "OutOfSync" && !comparison_failed) {
      // Once per revision; again for drift with selfHeal once the last attempt succeeded, and
      // after a failure only as syncPolicy.retry allows (with its backoff), as Argo CD does.
      const KJson previous_state = object_member(status, "operationState");
      bool synced_this_revision = object_member(previous_state, "syncResult").value("revision", "") == rendered->revision;
      bool last_failed = previous_state.value("phase", "") == "Failed" || previous_state.value("phase", "") == "Error";
      int64_t retry_at = retry_due_ms(spec.sync_policy, previous_state);
      bool retrying = synced_this_revision && retry_at >= 0 && retry_at <= ctx_.clock.now_ms();
      bool only_prunes = std::all_of(comparison.resources.begin(), comparison.resources.end(), [](const auto& r) {
        return r.status != "OutOfSync" || r.requires_pruning;
      });
      // Argo CD's guard: an automated sync that would prune everything waits for allowEmpty.
      bool wipes_out = compare_request.manifests.empty() && spec.sync_policy.prune && !spec.sync_policy.allow_empty;
      if (wipes_out) condition("SyncError", "auto-sync will wipe out all resources; set syncPolicy.automated.allowEmpty to allow it");
      else if (!(only_prunes && !spec.sync_policy.prune) && (!synced_this_revision || (spec.sync_policy.self_heal && !last_failed) || retrying)) {
        int64_t attempts = retrying ? previous_state.value("retryCount", int64_t{0}) + 1 : 0;
        KJson automated = {{"sync", {{"prune", spec.sync_policy.prune}}}, {"initiatedBy", {{"automated", true}}}};
        run_sync(comparison, automated, KJson());
        if (status["operationState"].value("phase", "") != "Succeeded") status["operationState"]["retryCount"] = attempts;
      }
    }
  } else if (!operation.is_null()) {
    status["operationState"] = {{"operation", operation}, {"phase", "Error"},
                                {"message", conditions.empty() ? "" : conditions[0].value("message", "")},
                                {"startedAt", now_text(ctx_.clock)}, {"finishedAt", now_text(ctx_.clock)}};
  }

  KJson resources = KJson::array();
  for (const auto& r : comparison.resources) {
    KJson j = key_json(r.key);
    j["status"] = r.status;
    if (r.health) {
      j["health"] = {{"status", cd::health_name(r.health->status)}};
      if (!r.health->message.empty()) j["health"]["message"] = r.health->message;
    }
    if (r.requires_pruning) j["requiresPruning"] = true;
    resources.push_back(j);
  }
  status["resources"] = resources;
  status["summary"] = summary(comparison);
  KJson compared = compared_to(app);
  status["sync"] = {{"status", rendered && !comparison_failed ? comparison.sync_status : "Unknown"},
                    {"comparedTo", compared}};
  if (rendered) {
    status["sync"]["revision"] = rendered->revision;
    status["sourceType"] = rendered->source_type;
  }
  status["health"] = {{"status", rendered ? cd::health_name(comparison.health.status) : "Unknown"}};
  if (rendered && !comparison.health.message.empty()) status["health"]["message"] = comparison.health.message;
  if (conditions.empty()) status.erase("conditions");
  else status["conditions"] = conditions;
  status["reconciledAt"] = now_text(ctx_.clock);
  // An operation that ended at a revision or source of its own (a rollback, a sync to a
  // revision) was compared against that: as Argo CD does after an operation, the app is
  // compared again at once against its target, so its sync status says where git is.
  bool compare_again = (!revision.empty() || operation_app) && !operation_running(status);
  (void)write_status(ns, name, status, ran_operation, compare_again);
  // When the app is next due follows from what was just written (reconciledAt, a retry's
  // backoff): the loop asks again.
  ctx_.poke_controllers();
}

Result<Json> AppController::managed_resources(const std::string& ns, const std::string& name) {
  auto rec = ctx_.store.get_object(spec::Kind::kApplication, ns, name);
  if (!rec) return rec.status();
  KJson app = parse_json_or_discarded<KJson>(rec->body);
  auto decoded = decode_stored(spec::Kind::kApplication, app, ns);
  if (!decoded) return decoded.status();
  auto rendered = render_app(ns, name, *decoded, "", ctx_.clock.now_ms() - options_.resync_ms);
  if (!rendered) return rendered.status();
  cd::CompareRequest req;
  req.app_name = name;
  req.destination_namespace = decoded->app->destination.namespace_;
  req.manifests = rendered->manifests;
  req.ignore_differences = decoded->app->ignore_differences;
  req.application_health = application_health_enabled(ctx_.options.data_dir);
  for (const auto& r : array_member(object_member(app, "status"), "resources")) req.previous.push_back(key_from(r));
  auto cluster = cluster_for(decoded->app->destination.server, decoded->app->destination.name);
  if (!cluster) return cluster.status();
  cd::Destinations dest = destinations(*cluster);
  // What the project does not let the app deploy is left out, as the reconcile leaves it.
  KJson project_json;
  std::string project_error;
  if (auto project = load_project(decoded->app->project, &project_json, &project_error))
    std::erase_if(req.manifests, [&](const KJson& m) { return !resource_refusal(*project, decoded->app->project, dest, m).empty(); });
  cd::Comparison comparison = cd::compare(req, dest);
  Json items = Json::array();
  for (const auto& r : comparison.resources) {
    Json j = Json(key_json(r.key));
    j["targetState"] = r.target.is_null() ? "null" : r.target.dump();
    j["liveState"] = r.live.is_null() ? "null" : r.live.dump();
    j["normalizedLiveState"] = r.diff.normalized_live.is_null() ? "null" : r.diff.normalized_live.dump();
    j["predictedLiveState"] = r.target.is_null() ? "null" : r.target.dump();
    j["diff"] = r.diff.text;
    j["modified"] = r.status == "OutOfSync";
    items.push_back(j);
  }
  return Json{{"items", items}};
}

Result<Json> AppController::live_hooks(const std::string& ns, const std::string& name) {
  auto rec = ctx_.store.get_object(spec::Kind::kApplication, ns, name);
  if (!rec) return rec.status();
  KJson app = parse_json_or_discarded<KJson>(rec->body);
  KJson state = object_member(object_member(app, "status"), "operationState");
  const KJson destination = object_member(object_member(app, "spec"), "destination");
  auto cluster = cluster_for(destination.value("server", ""), destination.value("name", ""));
  cd::Destinations dest = destinations(cluster ? *cluster : nullptr);
  Json nodes = Json::array();
  for (const auto& r : array_member(object_member(state, "syncResult"), "resources")) {
    if (!r.contains("hookType")) continue;
    auto live = cd::read_live(key_from(r), dest);
    if (!live) continue;
    Json node = Json(key_json(key_from(r)));
    if (auto h = cd::assess_health(*live)) node["health"] = {{"status", cd::health_name(h->status)}};
    node["parentRefs"] = Json::array();
    nodes.push_back(node);
  }
  return nodes;
}

Result<Json> AppController::manifests(const std::string& ns, const std::string& name, const std::string& revision) {
  auto rec = ctx_.store.get_object(spec::Kind::kApplication, ns, name);
  if (!rec) return rec.status();
  auto decoded = decode_stored(spec::Kind::kApplication, parse_json_or_discarded<KJson>(rec->body), ns);
  if (!decoded) return decoded.status();
  auto rendered = render_app(ns, name, *decoded, revision, ctx_.clock.now_ms() - options_.resync_ms);
  if (!rendered) return rendered.status();
  Json list = Json::array();
  for (const auto& m : rendered->manifests) list.push_back(m.dump());
  return Json{{"manifests", list}, {"revision", rendered->revision}, {"sourceType", rendered->source_type}};
}

}  // namespace skiff::server
