#include "server/webhook_routes.h"

#include <algorithm>
#include <cstdio>

#include "runtime/secret_store.h"
#include "server/app_actions.h"
#include "server/app_routes.h"
#include "server/webhook.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

WebhookSecrets secrets_of(const std::string& data_dir) {
  WebhookSecrets s;
  auto secret = runtime::read_config_object(data_dir, runtime::ConfigKind::kSecret, kArgoCdNamespace, "argocd-secret");
  if (!secret) return s;
  auto get = [&](const char* key) {
    auto it = secret->data.find(key);
    return it == secret->data.end() ? std::string() : it->second;
  };
  s.github = get("webhook.github.secret");
  s.gitlab = get("webhook.gitlab.secret");
  s.gogs = get("webhook.gogs.secret");
  return s;
}

// Whether any source of a stored Application (its JSON) is one the push refreshes.
bool refreshed_by(const PushEvent& push, const Json& app) {
  const Json spec = object_member(app, "spec");
  Json sources = array_member(spec, "sources");
  if (spec.contains("source")) sources.push_back(object_member(spec, "source"));
  for (const auto& source : sources) {
    const Json url = source.contains("repoURL") ? source["repoURL"] : Json();
    const Json revision = source.contains("targetRevision") ? source["targetRevision"] : Json("");
    if (url.is_string() && revision.is_string() && push_refreshes(push, url.get<std::string>(), revision.get<std::string>()))
      return true;
  }
  return false;
}

// Sets the refresh annotation on every Application the push concerns; their names.
Json refresh_apps(ApiContext& ctx, const PushEvent& push) {
  Json refreshed = Json::array();
  auto apps = ctx.store.list_objects(spec::Kind::kApplication, "");
  if (!apps) return refreshed;
  for (const auto& rec : *apps) {
    Json app = parse_json_or_discarded<Json>(rec.body);
    if (!app.is_object() || !refreshed_by(push, app)) continue;
    auto saved = modify_app(ctx, rec.namespace_, rec.name, [](Json& a) {
      Json& annotations = a["metadata"]["annotations"];
      if (!annotations.is_object()) annotations = Json::object();
      if (!annotations.contains(kRefreshAnnotation)) annotations[kRefreshAnnotation] = "normal";  // a hard one stays
      return Status::ok();
    });
    if (saved) refreshed.push_back(rec.namespace_ + "/" + rec.name);
  }
  return refreshed;
}

}  // namespace

void add_webhook_routes(httplib::Server& s, ApiContext& ctx) {
  s.Post("/api/webhook", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto header = [&req](const std::string& name) { return req.get_header_value(name); };
    Webhook w = parse_webhook(header, req.body, secrets_of(ctx.options.data_dir),
                              std::min(kMaxWebhookBody, ctx.options.max_body));
    if (w.http_status != 200) {
      std::fprintf(stderr, "skiff server: webhook refused (%d): %s\n", w.http_status, w.error.c_str());
      res.status = w.http_status;
      res.set_content("webhook processing failed: " + w.error + "\n", "text/plain; charset=utf-8");
      return;
    }
    if (w.ping) return reply(res, 200, Json{{"provider", w.provider}, {"refreshed", Json::array()}});
    if (ctx.app_invalidate_repo)
      for (const auto& url : w.push.repo_urls) ctx.app_invalidate_repo(url);
    Json refreshed = refresh_apps(ctx, w.push);
    if (!refreshed.empty()) ctx.poke_controllers();
    reply(res, 200, Json{{"provider", w.provider}, {"revision", w.push.revision}, {"refreshed", refreshed}});
  });
}

}  // namespace skiff::server
