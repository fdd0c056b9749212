// The parse tree of a kubectl JSONPath template, and its parser: the behaviour of
// k8s.io/client-go/util/jsonpath/parser.go (what `kubectl get -o jsonpath=` runs), written
// anew. Internal to kube/jsonpath.cc, which evaluates the tree. Stateless; any thread.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::kube::jsonpath_internal {

enum class NodeType { kList, kText, kField, kArray, kFilter, kInt, kFloat, kBool, kWildcard, kRecursive, kUnion, kIdentifier };

struct SliceParam {
  int64_t value = 0;
  bool known = false;
  bool derived = false;  // the end of "[i]", which is i+1
};

struct Node {
  NodeType type = NodeType::kList;
  std::string name;                               // a field or identifier; a filter's operator
  std::shared_ptr<const nlohmann::json> literal;  // the value of a text, int, float or bool node
  SliceParam params[3];                           // start, end, step
  std::vector<Node> nodes;  // a list's nodes; a filter's {left, right}; a union's lists
};

// Parses `tmpl` into `root`, a list of text nodes and one list per action. kInvalid with
// kubectl's words for what is wrong ("unclosed action", "invalid array index x").
Status parse(const std::string& tmpl, Node* root);

}  // namespace skiff::kube::jsonpath_internal
