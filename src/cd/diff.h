// Desired (rendered) vs live Kubernetes objects, normalised as Argo CD's diff judges them,
// so that defaults the API server fills in and fields it sets never show as drift. Pure
// functions over the objects' JSON: no I/O, stateless, any thread.
//
// What counts as a difference:
//   - a field the desired object sets that the live one lacks or holds differently;
//   - a field skiff applied before (the live object's managedFields entry of the
//     `applier` manager, or kubectl's last-applied-configuration annotation) that the
//     desired object no longer sets but the live one still has (a label removed from git);
//   - lists by merge key where Kubernetes has one (containers, env, volumes ... by name;
//     volumeMounts by mountPath; ports by containerPort or port), else by position and length.
// What does not: fields only the live object has (defaults, status, uid, resourceVersion,
// generation, creationTimestamp, managedFields, annotations kubectl and skiff add), empty
// values the desired object sets and the API server drops, and equal values spelt
// differently: quantities ("1000m" == "1", 0.5 == "500m" in requests/limits), numbers
// (1 == 1.0) and int-or-string fields (8080 == "8080"). A Secret's stringData is folded
// into data (base64) first. ignoreDifferences removes fields from both sides first.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skiff::cd {

struct DiffOptions {
  std::vector<std::string> json_pointers;            // ignoreDifferences: removed from both sides
  // ignoreDifferences jqPathExpressions, paths only: `.a.b`, `.a[0]`, `.a[]`, `.a["k.x"]`;
  // a program beyond that (pipes, select) is skipped.
  std::vector<std::string> jq_path_expressions;
  std::vector<std::string> managed_fields_managers;  // fields those managers own in live are ignored
  std::string applier = "skiff";                     // the field manager sync applies with
};

struct Diff {
  bool modified = false;
  std::vector<std::string> paths;  // JSON pointers that differ ("/spec/replicas"); "" for a missing object
  nlohmann::json normalized_live, normalized_target;  // what was compared
  std::string text;                // a unified-diff-like text of the two normalised YAMLs (for `app diff`)
};

// `live` null: modified (missing). normalized_live holds the live values of the fields
// compared (the live object seen through the desired one), so `text` shows only drift.
Diff diff(const nlohmann::json& desired, const nlohmann::json& live, const DiffOptions& options = {});

// What a sync with RespectIgnoreDifferences=true applies: `desired` with each field the
// options ignore holding its live value (carried over when desired lacks it, left out when
// live lacks it), so that a sync does not undo what ignoreDifferences tolerates. `live`
// null: `desired` unchanged.
nlohmann::json respect_ignored(const nlohmann::json& desired, const nlohmann::json& live, const DiffOptions& options);

}  // namespace skiff::cd
