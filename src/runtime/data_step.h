// The data template (Argo's `data`): a list of an artifact location's files, transformed
// by expressions, as the step's result. Run by AgentExecutor (agent_executor.h), with no
// process, as Argo's executor runs it in a pod of its own.
//
//   data:
//     source:
//       artifactPaths: {name: logs, s3: {key: runs/42}}   # any artifact location skiff reads
//     transformation:
//       - expression: 'filter(data, {# endsWith ".log"})'
//
// The source lists every object under the location's key as a directory (key + "/"), whole
// keys, sorted, from the repository the location names (a key-only s3 one: the workflow's
// repository). Each transformation step evaluates its expression with `data` bound to the
// value so far. The result is the final value as JSON. Errors are worded as Argo's
// ("unable to process data source: unable to source artifact paths: ...",
// "unable to process data transformation: error processing data step 0: ...").
// Stateless; any thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "util/status.h"

namespace skiff::runtime {

// Evaluates an expression of Argo's expression language with `vars` (name -> JSON value)
// in scope, returning its value as JSON. runtime/ does not use expr/; whoever assembles
// the executors passes expr's evaluator (cli/).
using ExpressionFn =
    std::function<Result<std::string>(const std::string& expression, const std::map<std::string, std::string>& vars)>;

struct DataStepContext {
  std::string data_dir;  // repositories, config maps and secrets
  std::string namespace_ = "default";
  std::optional<std::pair<std::string, std::string>> artifact_repository_ref;  // the workflow's
  ExpressionFn evaluate;
  size_t max_keys = 100000;  // objects listed at most
};

// The result (JSON) of the data template whose JSON is `data_json`.
Result<std::string> run_data_template(const std::string& data_json, const DataStepContext& context);

}  // namespace skiff::runtime
