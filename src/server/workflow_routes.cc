#include "server/workflow_routes.h"

#include <memory>
#include <optional>

#include "server/objects.h"
#include "server/runner.h"
#include "server/stream_routes.h"
#include "server/template_refs.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::server {
namespace {

// Validates and starts a workflow; replies with it.
void submit(ApiContext& ctx, spec::Object wf, const std::string& ns, httplib::Response& res) {
  auto record = start_workflow(ctx, std::move(wf), ns);
  if (!record) return fail(res, record.status());
  reply(res, 200, workflow_json(ctx.store, *record, false));
}

void create_workflow(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  std::string ns = req.matches[1];
  if (Status st = check_name("namespace", ns); !st) return fail(res, st);
  auto body = parse_body(req);
  if (!body) return fail(res, body.status());
  auto wf = decode_object(*body, spec::Kind::kWorkflow, ns);
  if (!wf) return fail(res, wf.status());
  submit(ctx, std::move(*wf), ns, res);
}

// The verbs on one workflow, and its streams.
void add_actions(httplib::Server& s, ApiContext& ctx) {
  // PUT .../stop and .../terminate: the running workflow ends as `argo stop/terminate` ends it.
  for (const char* verb : {"stop", "terminate"}) {
    s.Put(std::string(R"(/api/v1/workflows/([^/]+)/([^/]+)/)") + verb, [&ctx, verb](const httplib::Request& req, httplib::Response& res) {
      std::string ns = req.matches[1], name = req.matches[2];
      auto body = parse_body(req, true);
      if (!body) return fail(res, body.status());
      std::string message = body->value("message", "");
      bool terminate = std::string(verb) == "terminate";
      if (Status st = ctx.on_runner([=](Runner& r) { return r.stop(ns, name, message, terminate); }); !st) {
        return fail(res, st);
      }
      auto wf = ctx.store.get_workflow(ns, name);
      if (!wf) return fail(res, wf.status());
      res.set_content(workflow_text(ctx.store, *wf), "application/json");
    });
  }
  // PUT .../suspend, .../resume {nodeFieldSelector}, .../set {nodeFieldSelector, phase,
  // message, outputParameters: "<JSON object as text>"}: as `argo suspend/resume/node set`.
  s.Put(R"(/api/v1/workflows/([^/]+)/([^/]+)/(suspend|resume|set))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1], name = req.matches[2], verb = req.matches[3];
    auto body = parse_body(req, true);
    if (!body) return fail(res, body.status());
    std::string selector = body->value("nodeFieldSelector", "");
    engine::NodeUpdate update;
    if (verb == "set") {
      update.phase = body->value("phase", "");
      update.message = body->value("message", "");
      std::string outputs = body->value("outputParameters", "");
      if (!outputs.empty()) {
        auto o = parse_json<Json>(outputs, "outputParameters");
        if (!o) return fail(res, o.status());
        if (!o->is_object()) return fail(res, invalid("outputParameters must be a JSON object of names to values, as text"));
        for (const auto& [k, v] : o->items()) update.output_parameters[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
    }
    Status done = ctx.on_runner([=](Runner& r) -> Status {
      if (verb == "suspend") return r.suspend(ns, name);
      if (verb == "resume") return r.resume(ns, name, selector);
      auto n = r.set_nodes(ns, name, selector, update);
      if (!n) return n.status();
      if (*n == 0) return Status(Code::kNotFound, "no node of " + name + " matches \"" + selector + "\"");
      return Status::ok();
    });
    if (!done) {
      if (done.code() == Code::kInvalid && !ctx.store.get_workflow(ns, name)) {
        return fail(res, Status(Code::kNotFound, "workflow " + ns + "/" + name + " not found"));
      }
      return fail(res, done);
    }
    auto wf = ctx.store.get_workflow(ns, name);
    if (!wf) return fail(res, wf.status());
    res.set_content(workflow_text(ctx.store, *wf), "application/json");
  });
  s.Put(R"(/api/v1/workflows/([^/]+)/([^/]+)/retry)", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto rec = ctx.store.get_workflow(req.matches[1], req.matches[2]);
    if (!rec) return fail(res, rec.status());
    auto def = stored_definition(ctx.store, *rec);
    if (!def) return fail(res, def.status());
    auto shared = std::make_shared<std::pair<spec::Object, std::vector<spec::Object>>>(std::move(*def));
    Status done = ctx.on_runner(
        [shared, rec = *rec](Runner& r) { return r.retry(rec, std::move(shared->first), std::move(shared->second)); });
    if (!done) return fail(res, done);
    auto wf = ctx.store.get_workflow(req.matches[1], req.matches[2]);
    if (!wf) return fail(res, wf.status());
    res.set_content(workflow_text(ctx.store, *wf), "application/json");
  });
  // PUT .../resubmit: a new workflow from the same definition (generateName <name>-).
  s.Put(R"(/api/v1/workflows/([^/]+)/([^/]+)/resubmit)", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto rec = ctx.store.get_workflow(req.matches[1], req.matches[2]);
    if (!rec) return fail(res, rec.status());
    Json object = parse_json_or_discarded<Json>(rec->object);
    if (!object.is_object()) return fail(res, internal_error("the stored definition is damaged"));
    object["metadata"].erase("name");
    object["metadata"]["generateName"] = rec->name + "-";
    auto wf = decode_object({{"workflow", object}}, spec::Kind::kWorkflow, rec->namespace_);
    if (!wf) return fail(res, wf.status());
    submit(ctx, std::move(*wf), rec->namespace_, res);
  });
  // POST .../submit: a workflow from a WorkflowTemplate or ClusterWorkflowTemplate.
  s.Post(R"(/api/v1/workflows/([^/]+)/submit)", [&ctx](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1];
    auto body = parse_body(req);
    if (!body) return fail(res, body.status());
    const spec::KindInfo* kind = spec::find_kind(body->value("resourceKind", ""), true);
    std::string name = body->value("resourceName", "");
    if (!kind || (kind->kind != spec::Kind::kWorkflowTemplate && kind->kind != spec::Kind::kClusterWorkflowTemplate) ||
        !dns1123_subdomain(name)) {
      return fail(res, invalid("submit needs resourceKind WorkflowTemplate or ClusterWorkflowTemplate and a resourceName"));
    }
    bool cluster = !kind->namespaced;
    auto found = ctx.store.get_object(kind->kind, cluster ? "" : ns, name);
    if (!found) return fail(res, found.status());
    Json opts = body->value("submitOptions", Json::object());
    Json wf = {{"metadata", {{"generateName", opts.value("generateName", name + "-")}}},
               {"spec", {{"workflowTemplateRef", {{"name", name}}}}}};
    if (cluster) wf["spec"]["workflowTemplateRef"]["clusterScope"] = true;
    if (opts.contains("name")) {
      wf["metadata"]["name"] = opts["name"];
      wf["metadata"].erase("generateName");
    }
    if (opts.contains("entryPoint")) wf["spec"]["entrypoint"] = opts["entryPoint"];
    if (opts.contains("labels") && opts["labels"].is_string()) {
      for (const std::string& kv : split_csv(opts["labels"].get<std::string>())) {
        size_t eq = kv.find('=');
        if (eq != std::string::npos) wf["metadata"]["labels"][kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    }
    for (const auto& p : opts.value("parameters", Json::array())) {
      std::string kv = p.is_string() ? p.get<std::string>() : "";
      size_t eq = kv.find('=');
      if (eq == std::string::npos) return fail(res, invalid("submitOptions.parameters: \"" + kv + "\" is not name=value"));
      wf["spec"]["arguments"]["parameters"].push_back({{"name", kv.substr(0, eq)}, {"value", kv.substr(eq + 1)}});
    }
    auto decoded = decode_object({{"workflow", wf}}, spec::Kind::kWorkflow, ns);
    if (!decoded) return fail(res, decoded.status());
    submit(ctx, std::move(*decoded), ns, res);
  });
  add_stream_routes(s, ctx.store, ctx.events, ctx.executor,
                    [&ctx](const store::WorkflowRecord& wf, bool with_nodes) { return workflow_json(ctx.store, wf, with_nodes); });
}

}  // namespace

Result<store::WorkflowRecord> start_workflow(ApiContext& ctx, spec::Object wf, const std::string& ns) {
  if (wf.metadata.name.empty() && wf.metadata.generate_name.empty()) {
    return invalid("workflow.metadata needs name or generateName");
  }
  if (!wf.metadata.name.empty()) {
    if (Status st = check_name("workflow.metadata.name", wf.metadata.name); !st) return st;
  } else if (Status st = check_name("workflow.metadata.generateName", wf.metadata.generate_name + "x"); !st) {
    return st;
  }
  auto templates = referenced_templates(ctx.store, wf.source_json, ns);
  if (!templates) return templates.status();
  if (Status st = validate_with(wf, *templates); !st) return st;
  auto shared = std::make_shared<std::pair<spec::Object, std::vector<spec::Object>>>(std::move(wf), std::move(*templates));
  auto added = std::make_shared<std::optional<store::WorkflowRecord>>();
  Status st = ctx.on_runner([shared, added, ns](Runner& r) -> Status {
    engine::RunOptions o;
    o.namespace_ = ns;
    auto record = r.add(std::move(shared->first), std::move(shared->second), o);
    if (!record) return record.status();
    *added = std::move(*record);
    return Status::ok();
  });
  if (!st) return st;
  return std::move(**added);
}

void add_workflow_routes(httplib::Server& s, ApiContext& ctx) {
  s.Post(R"(/api/v1/workflows/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    create_workflow(ctx, req, res);
  });
  s.Post(R"(/api/v1/workflows/([^/]+)/lint)", [&ctx](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1];
    auto body = parse_body(req);
    if (!body) return fail(res, body.status());
    auto wf = decode_object(*body, spec::Kind::kWorkflow, ns);
    if (!wf) return fail(res, wf.status());
    auto templates = referenced_templates(ctx.store, wf->source_json, ns);
    if (!templates) return fail(res, templates.status());
    if (Status st = validate_with(*wf, *templates); !st) return fail(res, st);
    reply(res, 200, (*body)["workflow"]);
  });
  // GET /api/v1/workflows/{ns}, or /api/v1/workflows/ for every namespace (a token for "*").
  s.Get(R"(/api/v1/workflows/?([^/]*))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    store::ListQuery q;
    q.namespace_ = req.matches[1];
    q.label_selector = query(req, "listOptions.labelSelector");
    q.field_selector = query(req, "listOptions.fieldSelector");
    q.continue_token = query(req, "listOptions.continue");
    std::string limit = query(req, "listOptions.limit");
    if (!limit.empty()) {
      char* end = nullptr;
      q.limit = std::strtoll(limit.c_str(), &end, 10);
      if (*end || q.limit < 0) return fail(res, invalid("listOptions.limit \"" + limit + "\" is not a count"));
    }
    auto page = ctx.store.list_workflows(q);
    if (!page) return fail(res, page.status());
    std::string fields = query(req, "fields");  // items.… (Argo's list fields)
    Json items = Json::array();
    for (const auto& wf : page->items) items.push_back(select_fields(workflow_json(ctx.store, wf, false), fields, "items."));
    Json meta = Json::object();
    if (!page->continue_token.empty()) meta["continue"] = page->continue_token;
    reply(res, 200, {{"metadata", meta}, {"items", items}});
  });
  // Argo's `fields` ("metadata,status.phase", "-status.nodes"): nodes are read only when kept.
  s.Get(R"(/api/v1/workflows/([^/]+)/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto wf = ctx.store.get_workflow(req.matches[1], req.matches[2]);
    if (!wf) return fail(res, wf.status());
    std::string fields = query(req, "fields");
    if (fields.empty()) return res.set_content(workflow_text(ctx.store, *wf), "application/json");
    reply(res, 200, select_fields(workflow_json(ctx.store, *wf, fields_keep(fields, "", "status.nodes")), fields, ""));
  });
  s.Delete(R"(/api/v1/workflows/([^/]+)/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    if (Status st = ctx.remove_workflow(req.matches[1], req.matches[2]); !st) return fail(res, st);
    reply(res, 200, Json::object());
  });
  add_actions(s, ctx);
}

}  // namespace skiff::server
