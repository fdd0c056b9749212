#include "server/stream_routes.h"

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "server/http_util.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '\n') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}


constexpr size_t kLogChunk = 1 << 20;

// Sends the lines of a step's log from byte *sent on through `send_line`, moving *sent past
// them. A last line without its newline waits for the rest unless `complete` (its step has
// ended, or the read does not follow) or the executor says the step writes no more; a line
// longer than a chunk goes in pieces. Logs are bytes: `send_line` must not assume UTF-8.
// False when the client left; *at_end_of_log says whether all of a complete log was sent.
bool send_log_lines(const runtime::Executor& executor, const runtime::LogRef& ref, uint64_t* sent, bool complete,
                    const std::function<bool(const std::string&)>& send_line, bool* at_end_of_log) {
  for (;;) {
    auto chunk = executor.read_log(ref, *sent, kLogChunk);
    if (!chunk) return true;  // none yet
    const std::string& text = chunk->data;
    bool at_end = text.size() < kLogChunk;
    bool whole = complete || !chunk->more;
    size_t newline = text.rfind('\n');
    size_t take = 0;
    if (whole && at_end) {
      take = text.size();
    } else if (newline != std::string::npos) {
      take = newline + 1;
    } else if (!at_end) {
      take = text.size();
    }
    *at_end_of_log = whole && at_end;
    if (take == 0) return true;
    std::string lines = text.substr(0, take);
    if (lines.back() == '\n') lines.pop_back();
    for (const std::string& line : split_lines(lines)) {
      if (!send_line(line)) return false;
    }
    *sent += take;
    if (at_end) return true;
  }
}

}  // namespace

void add_stream_routes(httplib::Server& s, store::Store& store, EventLog& events, const runtime::Executor& executor,
                       std::function<Json(const store::WorkflowRecord&, bool with_nodes)> workflow_json) {
  // GET /api/v1/stream/events/{ns}: Argo's event stream — {"result": <Kubernetes Event>}
  // per workflow or node phase change, from those kept in memory (the newest 20,000),
  // then live. listOptions.fieldSelector=involvedObject.name=NAME picks one workflow.
  s.Get(R"(/api/v1/stream/events/([^/]+))", [&events](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1];
    std::string only;
    std::string selector = query(req, "listOptions.fieldSelector");
    if (!selector.empty()) {
      if (selector.rfind("involvedObject.name=", 0) != 0) {
        return fail(res, invalid("listOptions.fieldSelector: only involvedObject.name=NAME is supported"));
      }
      only = selector.substr(std::strlen("involvedObject.name="));
    }
    bool sse = req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
    auto cursor = std::make_shared<int64_t>(0);
    res.set_chunked_content_provider(sse ? "text/event-stream" : "application/json",
                                     [&events, ns, only, sse, cursor](size_t, httplib::DataSink& sink) {
      for (;;) {
        for (const Event& e : events.since(*cursor, ns)) {
          *cursor = e.seq;
          if (!only.empty() && e.workflow != only) continue;
          std::string line = "{\"result\":" + event_json(e) + "}";
          std::string out = sse ? "data: " + line + "\n\n" : line + "\n";
          if (!sink.write(out.data(), out.size())) return false;
        }
        if (!sink.is_writable()) return false;
        events.wait(*cursor, 500);
        if (!sink.is_writable()) return false;
      }
    });
  });
  // GET /api/v1/workflow-events/{ns}: Argo's watch stream — {"result":{"type","object"}}
  // per change (ADDED, MODIFIED, DELETED), as server-sent events when asked, for the
  // workflows the list options select; it runs until the client goes away.
  s.Get(R"(/api/v1/workflow-events/([^/]+))", [&store, workflow_json](const httplib::Request& req, httplib::Response& res) {
    store::ListQuery q;
    q.namespace_ = req.matches[1];
    q.label_selector = query(req, "listOptions.labelSelector");
    q.field_selector = query(req, "listOptions.fieldSelector");
    if (auto probe = store.list_workflows(q); !probe) return fail(res, probe.status());
    bool sse = req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
    // `fields` (result.object.…) trims what is sent; without status.nodes they are not read.
    std::string fields = query(req, "fields");
    bool nodes = fields_keep(fields, "result.object.", "status.nodes");
    auto seen = std::make_shared<std::map<std::string, int64_t>>();  // uid -> version sent
    auto generation = std::make_shared<uint64_t>(UINT64_MAX);      // the store's, when last read
    res.set_chunked_content_provider(sse ? "text/event-stream" : "application/json",
                                     [&store, workflow_json, q, sse, seen, fields, nodes, generation](
                                         size_t, httplib::DataSink& sink) {
      auto send = [&](const char* type, const Json& object) {
        Json result = {{"result", {{"type", type}, {"object", select_fields(object, fields, "result.object.")}}}};
        std::string event = result.dump(-1, ' ', false, Json::error_handler_t::replace);
        std::string out = sse ? "data: " + event + "\n\n" : event + "\n";
        return sink.write(out.data(), out.size());
      };
      for (;;) {
        // Nothing written since the last look: nothing to read.
        if (uint64_t now = store.generation(); now == *generation) {
          if (!sink.is_writable()) return false;
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
          continue;
        } else {
          *generation = now;
        }
        auto page = store.list_workflows(q);
        if (!page) break;
        std::set<std::string> present;
        for (const auto& wf : page->items) {
          present.insert(wf.uid);
          auto it = seen->find(wf.uid);
          if (it != seen->end() && it->second == wf.version) continue;
          if (!send(it == seen->end() ? "ADDED" : "MODIFIED", workflow_json(wf, nodes))) return false;
          (*seen)[wf.uid] = wf.version;
        }
        for (auto it = seen->begin(); it != seen->end();) {
          if (present.count(it->first)) {
            ++it;
            continue;
          }
          if (!send("DELETED", {{"metadata", {{"uid", it->first}}}})) return false;
          it = seen->erase(it);
        }
        if (!sink.is_writable()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
      sink.done();
      return true;
    });
  });
  // GET .../log: Argo's log stream, one {"result":{"content","podName"}} per line (as
  // server-sent events, "data: {...}", when the client accepts text/event-stream, as the
  // argo CLI does); with logOptions.follow=true it goes on until the workflow ends.
  s.Get(R"(/api/v1/workflows/([^/]+)/([^/]+)/log)", [&store, &executor](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1], name = req.matches[2];
    auto rec = store.get_workflow(ns, name);
    if (!rec) return fail(res, rec.status());
    std::string only = query(req, "podName");
    bool follow = query(req, "logOptions.follow") == "true";
    auto state = std::make_shared<std::map<std::string, uint64_t>>();  // step key -> bytes sent
    std::string uid = rec->uid;
    bool sse = req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
    // What is followed, read again from the store only after it changed. A step whose
    // complete log was all sent is not read again.
    struct Followed {
      runtime::LogRef ref;
      std::string pod;
      bool complete = false;
      bool sent_all = false;
    };
    auto followed = std::make_shared<std::vector<Followed>>();
    auto generation = std::make_shared<uint64_t>(UINT64_MAX);
    auto finished = std::make_shared<bool>(false);
    res.set_chunked_content_provider(sse ? "text/event-stream" : "application/json",
                                     [&store, &executor, ns, name, uid, only, follow, state, sse, followed, generation,
                                      finished](size_t, httplib::DataSink& sink) {
      for (;;) {
        if (uint64_t now = store.generation(); now != *generation) {
          *generation = now;
          auto wf = store.get_workflow(ns, name);
          *finished = !wf || spec::is_finished(wf->phase);
          followed->clear();
          auto nodes = store.nodes(uid);
          for (const auto& n : nodes ? *nodes : std::vector<store::NodeRecord>{}) {
            Json j = parse_json_or_discarded<Json>(n.body);
            if (!j.is_object() || j.value("type", "") != "Pod") continue;
            std::string pod = j.value("id", n.id);
            if (!only.empty() && only != pod && only != n.id) continue;
            bool complete = !follow || *finished || spec::is_finished(spec::parse_node_phase(j.value("phase", "")));
            followed->push_back({{ns, name, uid + "/" + n.id}, pod, complete});
          }
        }
        for (Followed& f : *followed) {
          if (f.sent_all) continue;
          bool open = send_log_lines(executor, f.ref, &(*state)[f.ref.node_id], f.complete, [&](const std::string& line) {
            Json event = {{"result", {{"content", line}, {"podName", f.pod}}}};
            std::string text = event.dump(-1, ' ', false, Json::error_handler_t::replace);
            std::string out = sse ? "data: " + text + "\n\n" : text + "\n";
            return sink.write(out.data(), out.size());
          }, &f.sent_all);
          if (!open) return false;
        }
        if (!follow || *finished) break;
        if (!sink.is_writable()) return false;  // the client went away (a quiet step writes nothing)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      sink.done();
      return true;
    });
  });
}

}  // namespace skiff::server
