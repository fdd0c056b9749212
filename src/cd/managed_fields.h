// Kubernetes' managedFields (fieldsV1 sets: "f:name", "k:{key}", "v:value", "i:index",
// "."), read against the object they describe. Used by the diff: fields other managers own
// are ignored, fields skiff's applier owns tell what it applied before. Pure; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skiff::cd {

// `key` as one token of a JSON pointer (RFC 6901: "~" as "~0", "/" as "~1").
std::string pointer_token(const std::string& key);

// JSON pointers (into `live`) of the leaf fields that the managers named in `managers`
// own according to live's metadata.managedFields. `apply_only`: count only entries
// written by server-side apply (operation "Apply").
std::vector<std::string> owned_field_pointers(const nlohmann::json& live, const std::vector<std::string>& managers,
                                              bool apply_only = false);

// The part of `live` made of the fields `manager` applied (operation "Apply"), with list
// elements kept whole enough to carry their keys: what that manager last applied.
nlohmann::json applied_by(const nlohmann::json& live, const std::string& manager);

}  // namespace skiff::cd
