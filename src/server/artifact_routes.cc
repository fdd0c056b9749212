#include "server/artifact_routes.h"

#include <memory>

#include "runtime/artifact_executor.h"
#include "runtime/s3_protocol.h"
#include "util/json_text.h"

namespace skiff::server {

namespace {

struct Found {
  std::shared_ptr<runtime::ArtifactRepository> repo;
  std::string key;
};

// The repository and key of artifact `artifact` of node `node_id` (in its inputs or outputs).
Result<Found> find_artifact(store::Store& store, const std::string& data_dir, const std::string& ns,
                            const std::string& name, const std::string& node_id, bool inputs,
                            const std::string& artifact) {
  auto rec = store.get_workflow(ns, name);
  if (!rec) return rec.status();
  auto nodes = store.nodes(rec->uid);
  if (!nodes) return nodes.status();
  Json entry;
  bool node_found = false;
  for (const auto& n : *nodes) {
    if (n.id != node_id) continue;
    node_found = true;
    Json body = parse_json_or_discarded<Json>(n.body);
    for (const Json& a : array_member(object_member(body, inputs ? "inputs" : "outputs"), "artifacts"))
      if (a.is_object() && a.contains("name") && a["name"] == artifact) entry = a;
  }
  if (!node_found) return Status(Code::kNotFound, "workflow " + ns + "/" + name + " has no node " + node_id);
  if (!entry.is_object())
    return Status(Code::kNotFound, "node " + node_id + " has no " + (inputs ? "input" : "output") + " artifact " + artifact);
  Json s3 = object_member(entry, "s3");
  if (!s3.contains("key") || !s3["key"].is_string())
    return Status(Code::kNotFound, "artifact " + artifact + " is not kept in a repository (raw and http artifacts are not)");
  // The workflow's repository, as its steps used it.
  Json object = parse_json_or_discarded<Json>(rec->object);
  std::optional<std::pair<std::string, std::string>> ref;
  Json r = object_member(object_member(object, "spec"), "artifactRepositoryRef");
  if (!r.empty()) {
    auto text = [&r](const char* k) { return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : ""; };
    std::string cm = text("configMap");
    ref.emplace(cm.empty() ? "artifact-repositories" : cm, text("key"));
  }
  auto choice = runtime::choose_repository(data_dir, ns, ref);
  if (!choice) return choice.status();
  auto repo = runtime::repository_of(entry.dump(), data_dir, ns, choice->repo);
  if (!repo) return repo.status();
  return Found{*repo, s3["key"].get<std::string>()};
}

// The key's last part, safe inside a quoted header value.
std::string base_name(const std::string& key) {
  auto slash = key.rfind('/');
  std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  for (char& c : name)
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  return name;
}

// Sends the object at `key`, or a listing of the objects under it.
void send(httplib::Response& res, const Found& found, const std::string& key, const std::string& listing_base) {
  if (Status s = runtime::check_artifact_key(key); !s) return fail(res, s);
  auto info = found.repo->stat(key);
  if (!info && info.status().code() == Code::kNotFound) {
    auto list = found.repo->list(key + "/");
    if (list && !list->empty()) {
      std::string html = "<!doctype html><title>" + runtime::s3::xml_escape(key) + "</title><ul>\n";
      for (const auto& o : *list) {
        std::string rel = o.key.substr(key.size() + 1);
        html += "<li><a href=\"" + runtime::s3::xml_escape(listing_base + "/" + rel) + "\">" + runtime::s3::xml_escape(rel) + "</a> (" +
                std::to_string(o.size) + " bytes)</li>\n";
      }
      res.set_content(html + "</ul>\n", "text/html; charset=utf-8");
      return;
    }
  }
  if (!info) return fail(res, info.status());
  auto repo = found.repo;
  res.set_header("Content-Disposition", "attachment; filename=\"" + base_name(key) + "\"");
  res.set_content_provider(info->size, "application/octet-stream",
                           [repo, key, sent = std::make_shared<bool>(false)](size_t, size_t, httplib::DataSink& sink) {
                             if (*sent) return false;
                             *sent = true;
                             Status s = repo->read(key, [&](const char* data, size_t size) { return sink.write(data, size); });
                             return s.is_ok();
                           });
}

}  // namespace

void add_artifact_routes(httplib::Server& s, store::Store& store, const std::string& data_dir) {
  s.Get(R"(/artifact-files/([^/]+)/workflows/([^/]+)/([^/]+)/(outputs|inputs)/([^/]+)(/.*)?)",
        [&store, data_dir](const httplib::Request& req, httplib::Response& res) {
          std::string ns = req.matches[1], name = req.matches[2], node = req.matches[3], artifact = req.matches[5];
          bool inputs = req.matches[4] == "inputs";
          auto found = find_artifact(store, data_dir, ns, name, node, inputs, artifact);
          if (!found) return fail(res, found.status());
          std::string key = found->key;
          std::string rest = req.matches[6];
          if (!rest.empty() && rest != "/") key += rest;
          std::string base = "/artifact-files/" + ns + "/workflows/" + name + "/" + node + "/" + std::string(req.matches[4]) +
                             "/" + artifact;
          send(res, *found, key, base);
        });
  for (const char* prefix : {"artifacts", "input-artifacts"}) {
    bool inputs = std::string(prefix) == "input-artifacts";
    s.Get("/" + std::string(prefix) + R"(/([^/]+)/([^/]+)/([^/]+)/([^/]+))",
          [&store, data_dir, inputs](const httplib::Request& req, httplib::Response& res) {
            std::string ns = req.matches[1], name = req.matches[2], node = req.matches[3], artifact = req.matches[4];
            auto found = find_artifact(store, data_dir, ns, name, node, inputs, artifact);
            if (!found) return fail(res, found.status());
            std::string base = "/artifact-files/" + ns + "/workflows/" + name + "/" + node + "/" +
                               (inputs ? "inputs/" : "outputs/") + artifact;
            send(res, *found, found->key, base);
          });
  }
}

}  // namespace skiff::server
