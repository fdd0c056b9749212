// kubectl's JSONPath templates, evaluated as `kubectl get -o jsonpath=TEMPLATE` does, for
// a `resource` step's outputs.parameters[].valueFrom.jsonPath.
//
// A template is text with actions in braces: "{.metadata.name}", "{.items[*].metadata.name}",
// "{range .items[*]}{.name}{\"\\n\"}{end}", "{.status.conditions[?(@.type==\"Ready\")].status}",
// "{.spec.containers[0:2].image}", "{..image}", "{.metadata.labels.*}". Output as kubectl
// prints it: strings raw, several results of one action separated by a space, objects and
// arrays as compact JSON (keys sorted, as Go writes them), numbers as Go prints them.
//
// A key that is not there prints nothing, as kubectl does by default
// (--allow-missing-template-keys=true); with allow_missing_keys false it is an error
// ("... is not found"), as with kubectl's flag set false. Other mistakes are errors as in
// kubectl: an index out of bounds, a filter comparing a string with a number, `{end}`
// without `{range}`.
//
// Bounded: templates of at most 16 KiB, ranges nested at most 64 deep, at most a million
// values visited and 1 MiB of output (so "{..}" over a large object cannot run away).
// Stateless; any thread.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "util/status.h"

namespace skiff::kube {

struct JsonPathOptions {
  bool allow_missing_keys = true;     // kubectl's --allow-missing-template-keys
  size_t max_output = 1024 * 1024;    // bytes
};

// The text kubectl prints for `tmpl` over `object`. kInvalid for a template that does not
// parse ("error parsing jsonpath \"{.a\": unclosed action"), kFailed for one that fails on
// this object ("error executing jsonpath \"{.a[3]}\": array index out of bounds: index 3,
// length 1").
Result<std::string> jsonpath(const std::string& tmpl, const nlohmann::json& object,
                             const JsonPathOptions& options = {});

// Whether `tmpl` parses (for checking a workflow before it runs).
Status check_jsonpath(const std::string& tmpl);

}  // namespace skiff::kube
