#include "server/app_workloads.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "cd/health.h"
#include "machine/controller.h"
#include "machine/objects.h"
#include "machine/workload.h"
#include "server/app_actions.h"
#include "server/app_routes.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using spec::Kind;
using KJson = nlohmann::json;  // this machine's objects, as kube::ObjectApi gives them

constexpr size_t kMaxLogBytes = 4 << 20;  // a request reads at most this much of a log at once

std::string group_of(const std::string& api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

Json node_of(const KJson& object, const Json& parent) {
  const KJson meta = object_member(object, "metadata");
  std::string api_version = object.value("apiVersion", "");
  Json node = {{"group", group_of(api_version)},
               {"version", api_version.substr(api_version.find('/') + 1)},
               {"kind", object.value("kind", "")},
               {"namespace", meta.value("namespace", "")},
               {"name", meta.value("name", "")},
               {"uid", meta.value("uid", "")},
               {"resourceVersion", meta.value("resourceVersion", "")},
               {"createdAt", meta.value("creationTimestamp", "")},
               {"parentRefs", Json::array({{{"group", parent.value("group", "")},
                                            {"kind", parent.value("kind", "")},
                                            {"namespace", parent.value("namespace", "")},
                                            {"name", parent.value("name", "")},
                                            {"uid", parent.value("uid", "")}}})}};
  if (auto health = cd::assess_health(object)) {
    node["health"] = {{"status", cd::health_name(health->status)}};
    if (!health->message.empty()) node["health"]["message"] = health->message;
  }
  const KJson status = object_member(object, "status");
  Json info = Json::array();
  if (node["kind"] == "Pod") {
    int ready = 0, total = 0, restarts = 0;
    Json images = Json::array();
    for (const KJson& c : array_member(status, "containerStatuses")) {
      ++total;
      ready += c.value("ready", false) ? 1 : 0;
      restarts += c.value("restartCount", 0);
    }
    for (const KJson& c : array_member(object_member(object, "spec"), "containers")) images.push_back(c.value("image", ""));
    info.push_back({{"name", "Status Reason"}, {"value", status.value("phase", "Pending")}});
    info.push_back({{"name", "Node"}, {"value", "this machine"}});
    info.push_back({{"name", "Containers"}, {"value", std::to_string(ready) + "/" + std::to_string(total)}});
    info.push_back({{"name", "Restart Count"}, {"value", std::to_string(restarts)}});
    node["images"] = images;
    if (status.contains("podIP")) node["networkingInfo"] = {{"labels", Json(object_member(meta, "labels"))}};
  } else if (node["kind"] == "ReplicaSet") {
    info.push_back({{"name", "Revision"},
                    {"value", "Rev:" + object_member(meta, "annotations").value("deployment.kubernetes.io/revision", "1")}});
  }
  if (!info.empty()) node["info"] = info;
  return node;
}

// The app's nodes and the Pods under them ("namespace/name"), for logs and events.
std::vector<Json> app_pods(const ApiContext& ctx, const Json& app) {
  std::vector<Json> roots;
  for (const Json& r : array_member(object_member(app, "status"), "resources")) roots.push_back(r);
  std::vector<Json> pods;
  for (const Json& n : workload_nodes(ctx, roots))
    if (n.value("kind", "") == "Pod") pods.push_back(n);
  for (const Json& r : roots)
    if (r.value("kind", "") == "Pod") pods.push_back(r);
  return pods;
}

Result<Json> stored_app(ApiContext& ctx, const httplib::Request& req) {
  std::string name = req.matches[1];
  auto rec = ctx.store.get_object(Kind::kApplication, app_namespace_of(req), name);
  if (!rec) {
    return rec.status().code() == Code::kNotFound ? not_found("applications.argoproj.io \"" + name + "\" not found")
                                                  : rec.status();
  }
  return parse_json_or_discarded<Json>(rec->body);
}

std::string now_text() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return machine::rfc3339(ms.count());
}

void logs(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto app = stored_app(ctx, req);
  if (!app) return app_fail(res, app.status());
  std::string pod = query(req, "podName"), ns = query(req, "namespace"), container = query(req, "container");
  if (pod.empty()) return app_fail(res, invalid("podName is required: the pod whose log to show"));
  const Json* found = nullptr;
  std::vector<Json> pods = app_pods(ctx, *app);
  for (const Json& p : pods)
    if (p.value("name", "") == pod && (ns.empty() || p.value("namespace", "") == ns)) found = &p;
  if (!found || !ctx.workloads) return app_fail(res, not_found("pods \"" + pod + "\" not found in application " + std::string(req.matches[1])));
  ns = found->value("namespace", "");
  if (container.empty()) {
    auto live = ctx.machine_objects->get({"v1", "Pod", ns, pod}, ns);
    KJson containers = live ? array_member(object_member(*live, "spec"), "containers") : KJson::array();
    if (!containers.empty() && containers[0].is_object()) container = containers[0].value("name", "");
  }
  int64_t tail = std::atoll(query(req, "tailLines").c_str());
  bool follow = query(req, "follow") == "true";
  machine::WorkloadController* workloads = ctx.workloads;
  auto first = workloads->read_log(ns, pod, container, 0, kMaxLogBytes);
  if (!first) return app_fail(res, first.status());
  // The lines to send first: the last tailLines of what is there.
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < first->data.size();) {
    size_t nl = first->data.find('\n', pos);
    if (nl == std::string::npos) break;
    lines.push_back(first->data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  uint64_t offset = 0;
  for (const auto& l : lines) offset += l.size() + 1;
  if (tail > 0 && lines.size() > static_cast<size_t>(tail)) lines.erase(lines.begin(), lines.end() - tail);
  auto entry = [pod](const std::string& line) {
    return Json{{"result", {{"content", line}, {"timeStamp", now_text()}, {"podName", pod}}}}.dump(
               -1, ' ', false, Json::error_handler_t::replace) +
           "\n";
  };
  std::string head;
  for (const auto& l : lines) head += entry(l);
  if (!follow || !first->more) {
    res.set_content(head, "application/json");
    return;
  }
  auto state = std::make_shared<std::pair<uint64_t, std::string>>(offset, head);
  res.set_chunked_content_provider("application/json", [workloads, ns, pod, container, state, entry](
                                                           size_t, httplib::DataSink& sink) {
    if (!state->second.empty()) {
      if (!sink.write(state->second.data(), state->second.size())) return false;
      state->second.clear();
    }
    std::string partial;
    for (;;) {
      auto chunk = workloads->read_log(ns, pod, container, state->first, 64 << 10);
      if (!chunk) break;
      state->first += chunk->data.size();
      partial += chunk->data;
      std::string out;
      for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1))
        out += entry(partial.substr(0, nl));
      if (!out.empty() && !sink.write(out.data(), out.size())) return false;
      if (!chunk->more) break;
      if (chunk->data.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
      if (!sink.is_writable()) return false;
    }
    sink.done();
    return true;
  });
}

void events(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto app = stored_app(ctx, req);
  if (!app) return app_fail(res, app.status());
  Json items = Json::array();
  if (ctx.workloads) {
    std::map<std::pair<std::string, std::string>, std::string> pods;  // (ns, name) -> uid
    for (const Json& p : app_pods(ctx, *app)) pods[{p.value("namespace", ""), p.value("name", "")}] = p.value("uid", "");
    int n = 0;
    for (const machine::MachineEvent& e : ctx.workloads->events()) {
      auto pod = pods.find({e.namespace_, e.pod});
      if (pod == pods.end()) continue;
      items.push_back({{"metadata", {{"name", e.pod + "." + std::to_string(++n)}, {"namespace", e.namespace_}}},
                       {"involvedObject", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", e.namespace_},
                                           {"name", e.pod}, {"uid", pod->second}}},
                       {"reason", e.reason},
                       {"message", e.message},
                       {"type", e.type},
                       {"count", e.count},
                       {"firstTimestamp", machine::rfc3339(e.first_ms)},
                       {"lastTimestamp", machine::rfc3339(e.last_ms)},
                       {"source", {{"component", "kubelet"}, {"host", "this machine"}}}});
    }
  }
  reply(res, 200, Json{{"metadata", Json::object()}, {"items", items}});
}

}  // namespace

std::vector<Json> workload_nodes(const ApiContext& ctx, const std::vector<Json>& roots) {
  std::vector<Json> out;
  if (!ctx.machine_objects) return out;
  // Owners to children: Deployment -> ReplicaSet -> Pod.
  std::vector<KJson> sets = ctx.machine_objects->list("ReplicaSet"), pods = ctx.machine_objects->list("Pod");
  std::vector<Json> parents;
  for (const Json& r : roots) {
    const std::string kind = r.value("kind", "");
    if (kind != "Deployment" && kind != "ReplicaSet" && kind != "StatefulSet" && kind != "Job") continue;
    auto live = ctx.machine_objects->get({r.value("group", "") + "/" + r.value("version", "v1"), r.value("kind", ""),
                                          r.value("namespace", ""), r.value("name", "")},
                                         r.value("namespace", ""));
    if (!live) continue;
    Json root = r;
    root["uid"] = object_member(*live, "metadata").value("uid", "");
    parents.push_back(root);
  }
  while (!parents.empty()) {
    Json parent = parents.back();
    parents.pop_back();
    const std::vector<KJson>& candidates = parent.value("kind", "") == "Deployment" ? sets : pods;
    for (const KJson& child : candidates) {
      if (!machine::owned_by(child, parent.value("uid", ""))) continue;
      Json node = node_of(child, parent);
      out.push_back(node);
      if (node["kind"] == "ReplicaSet") parents.push_back(node);
    }
  }
  return out;
}

void add_app_workload_routes(httplib::Server& s, ApiContext& ctx) {
  const std::string item = R"(/api/v1/applications/([^/]+))";
  s.Get(item + "/logs", [&ctx](const httplib::Request& req, httplib::Response& res) { logs(ctx, req, res); });
  s.Get(item + "/events", [&ctx](const httplib::Request& req, httplib::Response& res) { events(ctx, req, res); });
}

}  // namespace skiff::server
