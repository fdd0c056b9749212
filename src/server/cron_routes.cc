#include "server/cron_routes.h"

#include "server/cron_controller.h"
#include "server/objects.h"
#include "server/template_routes.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

// A CronWorkflow's schedules must parse; an update keeps the status the controller wrote,
// and (when the client sent no resourceVersion) is pinned to the version that status was
// read at, so that a status written meanwhile is read again rather than lost.
Status check_cron(ApiContext& ctx, const spec::Object& cron, store::ObjectRecord& rec, bool update) {
  if (!cron.cron) return invalid("\"cronWorkflow\" has no CronWorkflow spec");
  if (auto next = CronController::next_run(*cron.cron, ctx.clock.now_ms()); !next) return next.status();
  if (!update) return Status::ok();
  auto old = ctx.store.get_object(spec::Kind::kCronWorkflow, rec.namespace_, rec.name);
  if (!old) return old.status();
  if (rec.version == 0) rec.version = old->version;
  Json before = parse_json_or_discarded<Json>(old->body), after = parse_json_or_discarded<Json>(rec.body);
  if (before.is_object() && before.contains("status") && after.is_object()) {
    after["status"] = before["status"];
    rec.body = after.dump();
  }
  return Status::ok();
}

// The workflows a deleted CronWorkflow created go with it.
void remove_children(ApiContext& ctx, const std::string& ns, const std::string& name) {
  store::ListQuery q;
  q.namespace_ = ns;
  q.label_selector = "workflows.argoproj.io/cron-workflow=" + name;
  if (auto children = ctx.store.list_workflows(q)) {
    for (const auto& wf : children->items) (void)ctx.remove_workflow(wf.namespace_, wf.name);
  }
}

// spec.suspend set to `suspend`, retried when a controller's status write came between.
Result<store::ObjectRecord> set_suspend(ApiContext& ctx, const std::string& ns, const std::string& name, bool suspend) {
  for (int attempt = 1;; ++attempt) {
    auto rec = ctx.store.get_object(spec::Kind::kCronWorkflow, ns, name);
    if (!rec) return rec.status();
    Json cron = parse_json_or_discarded<Json>(rec->body);
    if (!cron.is_object()) return internal_error("the stored CronWorkflow " + name + " is damaged");
    cron["spec"]["suspend"] = suspend;
    rec->body = cron.dump();
    Status st = ctx.store.update_object(spec::Kind::kCronWorkflow, *rec);
    if (st.code() == Code::kConflict && attempt < kWriteAttempts) continue;
    if (!st) return st;
    return ctx.store.get_object(spec::Kind::kCronWorkflow, ns, name);
  }
}

}  // namespace

ObjectFamily cron_family(ApiContext& ctx) {
  ObjectFamily family{spec::Kind::kCronWorkflow, nullptr, nullptr};
  family.before_write = [&ctx](const spec::Object& cron, store::ObjectRecord& rec, bool update) {
    return check_cron(ctx, cron, rec, update);
  };
  family.after_change = [&ctx](const std::string& ns, const std::string& name, bool deleted) {
    ctx.poke_controllers();
    if (deleted) remove_children(ctx, ns, name);  // no lock held while the runner deletes them
  };
  return family;
}

void add_cron_routes(httplib::Server& s, ApiContext& ctx) {
  add_object_routes(s, ctx, cron_family(ctx));
  s.Put(R"(/api/v1/cron-workflows/([^/]+)/([^/]+)/(suspend|resume))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto saved = set_suspend(ctx, req.matches[1], req.matches[2], req.matches[3] == "suspend");
    if (!saved) return fail(res, saved.status());
    ctx.poke_controllers();
    reply(res, 200, object_json(*saved, spec::Kind::kCronWorkflow));
  });
}

}  // namespace skiff::server
