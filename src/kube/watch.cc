// Client::list and Client::watch: reading many objects, and following their changes.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "kube/api_error.h"
#include "kube/client.h"
#include "kube/line_splitter.h"
#include "util/json_text.h"

namespace skiff::kube {
namespace {

constexpr size_t kMaxEventBytes = 16 << 20;  // one watch event: one object
constexpr int kMaxPages = 100000;
constexpr int64_t kDefaultWatchSeconds = 300;

using Params = std::vector<std::pair<std::string, std::string>>;

// "?a=1&b=x%3Dy" from the parameters with a value.
std::string query(const Params& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += (out.empty() ? "?" : "&") + key + "=" + net::url_escape(value);
  }
  return out;
}

std::string text_at(const nlohmann::json& object, const char* parent, const char* key) {
  if (!object.is_object() || !object.contains(parent) || !object[parent].is_object()) return "";
  const nlohmann::json& p = object[parent];
  auto it = p.find(key);
  return it != p.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<nlohmann::json> Client::list(const std::string& api_version, const std::string& kind,
                                    const std::string& namespace_, const ListOptions& options) {
  ObjectRef ref{api_version, kind, namespace_, ""};
  std::string context = "list " + describe(ref);
  Result<ResourceInfo> info = resolve(api_version, kind);
  if (!info) return info.status().with_context(context);
  std::string collection = collection_path(*info, namespace_);

  nlohmann::json items = nlohmann::json::array();
  std::string resource_version, next;
  int64_t limit = options.limit;
  for (int page = 0;; ++page) {
    if (page == kMaxPages) {
      return Status(Code::kUnavailable, context + ": more than " + std::to_string(kMaxPages) + " pages");
    }
    ApiCall call;
    call.path = collection + query({{"labelSelector", options.label_selector},
                                    {"fieldSelector", options.field_selector},
                                    {"limit", limit > 0 ? std::to_string(limit) : ""},
                                    {"continue", next}});
    call.context = context;
    Result<net::Response> got = transport_->call(call);
    if (!got && got.status().code() == Code::kConflict && !next.empty() && limit > 0) {
      // 410 Gone: the continue token outlived the snapshot it reads; read the rest again
      // as one list (client-go's pager does the same).
      items = nlohmann::json::array();
      next.clear();
      limit = 0;
      continue;
    }
    if (!got) return got.status();
    auto body = parse_json<nlohmann::json>(got->body, context + ": the API server's answer");
    if (!body) return Status(Code::kUnavailable, body.status().message());
    if (!body->is_object() || !body->contains("items") || !(*body)["items"].is_array()) {
      return Status(Code::kUnavailable, context + ": the API server's answer is not a list");
    }
    for (nlohmann::json& item : (*body)["items"]) {
      if (!item.is_object()) continue;
      item["apiVersion"] = api_version;  // list items come without them
      item["kind"] = kind;
      items.push_back(std::move(item));
    }
    resource_version = text_at(*body, "metadata", "resourceVersion");
    next = text_at(*body, "metadata", "continue");
    if (next.empty()) break;
  }
  return nlohmann::json{{"apiVersion", api_version},
                        {"kind", kind + "List"},
                        {"metadata", {{"resourceVersion", resource_version}}},
                        {"items", std::move(items)}};
}

Status Client::watch(const std::string& api_version, const std::string& kind, const std::string& namespace_,
                     const WatchOptions& options, const WatchCallback& callback) {
  ObjectRef ref{api_version, kind, namespace_, options.name};
  std::string context = "watch " + describe(ref);
  Result<ResourceInfo> info = resolve(api_version, kind);
  if (!info) return info.status().with_context(context);
  std::string collection = collection_path(*info, namespace_);
  ListOptions selectors{options.label_selector, options.field_selector, 0};
  if (!options.name.empty()) {
    selectors.field_selector += (selectors.field_selector.empty() ? "" : ",") + ("metadata.name=" + options.name);
  }
  auto cancelled = [&] { return options.cancelled && options.cancelled(); };

  // A (re)list: its items and the resourceVersion to watch from.
  std::string rv = options.resource_version;
  auto relist = [&](bool as_events) -> Result<bool> {
    Result<nlohmann::json> all = list(api_version, kind, namespace_, selectors);
    if (!all) return all.status();
    rv = text_at(*all, "metadata", "resourceVersion");
    if (!as_events) return callback("RELISTED", *all);
    for (const nlohmann::json& item : (*all)["items"]) {
      if (!callback("ADDED", item)) return false;
    }
    return true;
  };
  if (rv.empty()) {
    Result<bool> more = relist(true);
    if (!more) return more.status();
    if (!*more) return Status::ok();
  }

  int failures = 0;
  std::string last_failure;
  int64_t seconds = options.timeout_seconds > 0 ? options.timeout_seconds : kDefaultWatchSeconds;
  while (!cancelled()) {
    std::string path = collection + query({{"watch", "true"},
                                           {"resourceVersion", rv},
                                           {"allowWatchBookmarks", options.allow_bookmarks ? "true" : ""},
                                           {"timeoutSeconds", std::to_string(seconds)},
                                           {"labelSelector", selectors.label_selector},
                                           {"fieldSelector", selectors.field_selector}});
    bool stopped = false, gone = false;
    int events_seen = 0;  // besides ERROR events: the connection was of use
    int error_code = 0;  // of an ERROR event
    Status fatal;
    auto on_line = [&](std::string_view line) {
      auto event = parse_json_or_discarded<nlohmann::json>(line);
      if (!event.is_object() || !event.contains("type") || !event["type"].is_string() || !event.contains("object")) {
        fatal = Status(Code::kUnavailable, context + ": the API server sent a watch event that is not one");
        return false;
      }
      std::string type = event["type"];
      const nlohmann::json& object = event["object"];
      if (type == "ERROR") {  // a Status: 410 when the resume point is too old
        error_code = object.is_object() && object.contains("code") && object["code"].is_number_integer()
                         ? object["code"].get<int>()
                         : 500;
        gone = error_code == 410;
        if (!gone && !is_retriable(error_code)) fatal = api_error(error_code, object.dump(), context);
        last_failure = api_error(error_code, object.dump(), context).message();
        return false;
      }
      ++events_seen;
      if (std::string v = text_at(object, "metadata", "resourceVersion"); !v.empty()) rv = v;
      if (type == "BOOKMARK") return true;
      if (!callback(type, object)) {
        stopped = true;
        return false;
      }
      return true;
    };
    LineSplitter lines(kMaxEventBytes);
    auto sink = [&](const char* data, size_t size) {
      LineSplitter::Outcome o = lines.feed(std::string_view(data, size), on_line);
      if (o == LineSplitter::Outcome::kTooLong) {
        fatal = Status(Code::kUnavailable, context + ": a watch event longer than " +
                                               std::to_string(kMaxEventBytes >> 20) + " MiB");
      }
      return o == LineSplitter::Outcome::kMore;
    };
    Result<net::Response> got = transport_->stream(path, sink, options.cancelled);
    if (stopped || cancelled()) return Status::ok();
    if (!fatal.is_ok()) return fatal;
    if (got && got->status == 410) gone = true;
    if (gone) {
      Result<bool> more = relist(false);
      if (!more) return more.status();
      if (!*more) return Status::ok();
      failures = 0;
      continue;
    }
    bool ended = got && got->status >= 200 && got->status < 300 && error_code == 0;
    if (ended) {  // the server closed the stream (timeoutSeconds) or the connection dropped
      failures = 0;
      if (events_seen == 0) pause_unless_cancelled(200, options.cancelled);
      continue;
    }
    if (got && got->status >= 300 && !is_retriable(got->status)) return api_error(got->status, got->body, context);
    if (events_seen > 0) failures = 0;  // a stream that worked for a while, then broke
    if (!got) last_failure = got.status().message();
    if (got && got->status >= 300) last_failure = api_error(got->status, got->body, context).message();
    if (++failures > options.max_reconnect_failures) {
      return Status(Code::kUnavailable, context + ": gave up after " + std::to_string(failures) +
                                            " failed attempts to reconnect; the last: " + last_failure);
    }
    pause_unless_cancelled(std::min(200L << failures, 5000L), options.cancelled);
  }
  return Status::ok();
}

}  // namespace skiff::kube
