#include "runtime/data_step.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/artifact_executor.h"
#include "util/json_text.h"

namespace skiff::runtime {

using Json = nlohmann::json;

namespace {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// The keys under the artifact location `location` (an artifact's JSON: {"name", "s3": {...}}).
Result<Json> source_artifact_paths(const Json& location, const DataStepContext& context) {
  if (!location.is_object()) return invalid("artifactPaths must be an artifact");
  auto s3 = location.find("s3");
  if (s3 == location.end() || !s3->is_object())
    return invalid("artifactPaths lists an s3 location only (key, with bucket and endpoint or the workflow's repository)");
  auto choice = choose_repository(context.data_dir, context.namespace_, context.artifact_repository_ref);
  if (!choice) return choice.status();
  auto repo = repository_of(dump(location), context.data_dir, context.namespace_, choice->repo);
  if (!repo) return repo.status();
  std::string key = s3->value("key", "");
  while (!key.empty() && key.back() == '/') key.pop_back();
  std::string prefix = key.empty() ? "" : key + "/";
  auto objects = (*repo)->list(prefix);
  if (!objects) return objects.status();
  if (objects->size() > context.max_keys)
    return invalid((*repo)->describe() + " has more than " + std::to_string(context.max_keys) + " objects under " + prefix);
  std::vector<std::string> keys;
  for (const auto& o : *objects) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  return Json(keys);
}

}  // namespace

Result<std::string> run_data_template(const std::string& data_json, const DataStepContext& context) {
  Json d = parse_json_or_discarded<Json>(data_json);
  if (!d.is_object()) return invalid("data must be an object with source and transformation");
  Json value;
  const Json* paths = d.contains("source") && d["source"].is_object() && d["source"].contains("artifactPaths")
                          ? &d["source"]["artifactPaths"]
                          : nullptr;
  if (!paths) return invalid("unable to process data source: no valid source is used for data template");
  auto listed = source_artifact_paths(*paths, context);
  if (!listed)
    return Status(Code::kFailed, "unable to process data source: unable to source artifact paths: " + listed.status().message());
  value = std::move(*listed);
  if (d.contains("transformation") && d["transformation"].is_array()) {
    const Json& steps = d["transformation"];
    for (size_t i = 0; i < steps.size(); ++i) {
      std::string expression = steps[i].is_object() ? steps[i].value("expression", "") : "";
      if (expression.empty()) continue;
      std::string where = "unable to process data transformation: error processing data step " + std::to_string(i) + ": ";
      if (!context.evaluate) return Status(Code::kFailed, where + "expressions cannot be evaluated here");
      auto out = context.evaluate(expression, {{"data", dump(value)}});
      if (!out) return Status(Code::kFailed, where + out.status().message());
      Json next = parse_json_or_discarded<Json>(*out);
      if (next.is_discarded()) return Status(Code::kFailed, where + "the expression gave no JSON value");
      value = std::move(next);
    }
  }
  return dump(value);
}

}  // namespace skiff::runtime
