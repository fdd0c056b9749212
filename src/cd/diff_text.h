// Text for `skiff app diff`: objects as block YAML and a line diff of two texts.
// Pure functions; any thread.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace skiff::cd {

// Block YAML for `value` (keys in order, strings quoted when YAML would misread them).
std::string to_yaml(const nlohmann::json& value);

// A unified-diff-like text of two texts' lines ("--- live", "+++ desired", "@@" hunks with
// 3 lines of context); "" when they are equal.
std::string unified_diff(const std::string& live, const std::string& desired);

}  // namespace skiff::cd
