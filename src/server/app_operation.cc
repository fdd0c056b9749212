#include "server/app_operation.h"

#include <algorithm>

#include "engine/workflow_json.h"
#include "runtime/secret_store.h"
#include "server/app_routes.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using KJson = nlohmann::json;

std::string text(const KJson& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

KJson key_json(const cd::ResourceKey& k) {
  KJson j = {{"group", k.group}, {"version", k.version}, {"kind", k.kind}, {"name", k.name}};
  if (!k.namespace_.empty()) j["namespace"] = k.namespace_;
  return j;
}

cd::ResourceKey key_from(const KJson& j) {
  return {text(j, "group"), text(j, "version"), text(j, "kind"), text(j, "namespace"), text(j, "name")};
}

bool operation_running(const KJson& status) {
  std::string phase = text(object_member(status, "operationState"), "phase");
  return phase == "Running" || phase == "Terminating";
}

cd::SyncRequest sync_request(const spec::ApplicationSpec& spec, const KJson& operation) {
  const KJson op = object_member(operation, "sync");
  std::vector<std::string> options = spec.sync_policy.sync_options;
  for (const auto& o : array_member(op, "syncOptions"))
    if (o.is_string()) options.push_back(o);
  auto has = [&](const char* option) { return std::find(options.begin(), options.end(), option) != options.end(); };
  cd::SyncRequest req;
  req.destination_namespace = spec.destination.namespace_;
  req.prune = op.value("prune", false);
  req.dry_run = op.value("dryRun", false);
  req.create_namespace = has("CreateNamespace=true");
  req.prune_last = has("PruneLast=true");
  req.apply_out_of_sync_only = has("ApplyOutOfSyncOnly=true");
  req.replace = has("Replace=true");
  req.server_side_apply = has("ServerSideApply=true");
  req.fail_on_shared = has("FailOnSharedResource=true");
  if (has("PrunePropagationPolicy=background")) req.prune_propagation = kube::Propagation::kBackground;
  if (has("PrunePropagationPolicy=orphan")) req.prune_propagation = kube::Propagation::kOrphan;
  req.namespace_labels = spec.sync_policy.managed_namespace_labels;
  req.namespace_annotations = spec.sync_policy.managed_namespace_annotations;
  for (const auto& r : array_member(op, "resources")) req.only.push_back(key_from(r));
  return req;
}

cd::SyncProgress sync_progress(const KJson& state, const std::string& revision, int64_t now_ms) {
  cd::SyncProgress p;
  p.revision = revision;
  p.started_unix = now_ms / 1000;
  if (!state.is_object()) return p;
  const KJson result = object_member(state, "syncResult");
  p.revision = text(result, "revision");
  int64_t started = engine::parse_rfc3339(text(state, "startedAt"));
  if (started >= 0) p.started_unix = started / 1000;
  p.terminating = text(state, "phase") == "Terminating";
  for (const auto& r : array_member(result, "resources")) {
    cd::ResourceResult rr;
    rr.key = key_from(r);
    rr.status = text(r, "status");
    rr.message = text(r, "message");
    rr.phase = cd::phase_from_name(text(r, "syncPhase")).value_or(cd::SyncPhase::kSync);
    rr.hook_type = text(r, "hookType");
    rr.hook_phase = text(r, "hookPhase");
    if (r.contains("syncWave") && r["syncWave"].is_number_integer()) rr.wave = r["syncWave"].get<int>();
    p.results.push_back(std::move(rr));
  }
  return p;
}

KJson operation_state(const KJson& operation, const cd::SyncOutcome& outcome, const KJson& previous,
                      const std::string& now, const KJson& sync_result) {
  KJson results = KJson::array();
  for (const auto& r : outcome.results) {
    KJson j = key_json(r.key);
    j["status"] = r.status;
    j["message"] = r.message;
    j["syncPhase"] = cd::phase_name(r.phase);
    j["hookPhase"] = r.hook_phase;
    j["syncWave"] = r.wave;
    if (!r.hook_type.empty()) j["hookType"] = r.hook_type;
    results.push_back(j);
  }
  KJson state = {{"operation", operation}, {"phase", outcome.phase}, {"message", outcome.message},
                 {"startedAt", previous.is_object() && previous.contains("startedAt") ? previous["startedAt"] : KJson(now)},
                 {"syncResult", sync_result}};
  state["syncResult"]["resources"] = results;
  if (outcome.phase != "Running") state["finishedAt"] = now;
  if (previous.is_object() && previous.contains("retryCount")) state["retryCount"] = previous["retryCount"];
  return state;
}

bool application_health_enabled(const std::string& data_dir) {
  auto cm = runtime::read_config_object(data_dir, runtime::ConfigKind::kConfigMap, kArgoCdNamespace, "argocd-cm");
  if (!cm) return false;
  if (cm->data.count("resource.customizations.health.argoproj.io_Application")) return true;
  auto it = cm->data.find("resource.customizations");
  return it != cm->data.end() && it->second.find("argoproj.io/Application") != std::string::npos &&
         it->second.find("health.lua") != std::string::npos;
}

}  // namespace skiff::server
