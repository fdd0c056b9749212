#include "kube/jsonpath.h"

#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "kube/go_text.h"
#include "kube/jsonpath_parser.h"


// A port of the behaviour of k8s.io/client-go/util/jsonpath (parser.go, jsonpath.go), which
// `kubectl get -o jsonpath=` runs, checked against kubectl v1.37 by hand. Its quirks are
// kept on purpose: "['a.b']" reads fields a then b, a field of a string is nothing, "*"
// over a string gives its bytes as numbers, `$` means the current value (inside a range:
namespace skiff::kube {
namespace {

using nlohmann::json;
using jsonpath_internal::Node;
using jsonpath_internal::NodeType;
using jsonpath_internal::SliceParam;

constexpr size_t kMaxTemplateBytes = 16 * 1024;
constexpr int kMaxRangeNesting = 64;
constexpr size_t kMaxValues = 1000 * 1000;

// string (from "*" or ".." over it), or nil (nothing).
struct Value {
  const json* node = nullptr;
  int byte = -1;
};

bool is_nil(const Value& v) { return v.byte < 0 && (v.node == nullptr || v.node->is_null()); }

std::string go_type(const Value& v) {
  if (v.byte >= 0) return "uint8";
  if (!v.node) return "<nil>";
  switch (v.node->type()) {
    case json::value_t::object: return "map[string]interface {}";
    case json::value_t::array: return "[]interface {}";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_float: return "float64";
    default: return v.node->is_number() ? "int64" : "<nil>";
  }
}

// Go template's comparison kinds; objects, arrays and null compare as nothing.
enum class Kind { kInvalid, kBool, kInt, kUint, kFloat, kString };

Kind kind_of(const Value& v, int64_t* i, double* f) {
  if (v.byte >= 0) {
    *i = v.byte;
    return Kind::kUint;
  }
  if (!v.node) return Kind::kInvalid;
  const json& n = *v.node;
  if (n.is_string()) return Kind::kString;
  if (n.is_boolean()) return Kind::kBool;
  if (n.is_number_integer() && (!n.is_number_unsigned() || n.get<uint64_t>() <= INT64_MAX)) {
    *i = n.is_number_unsigned() ? static_cast<int64_t>(n.get<uint64_t>()) : n.get<int64_t>();
    return Kind::kInt;
  }
  if (n.is_number()) {
    *f = n.get<double>();
    return Kind::kFloat;
  }
  return Kind::kInvalid;
}

// -1, 0, 1 for a < b, a == b, a > b; `ordered` asks for < (bools do not order).
Result<int> compare(const Value& a, const Value& b, bool ordered) {
  int64_t ia = 0, ib = 0;
  double fa = 0, fb = 0;
  Kind ka = kind_of(a, &ia, &fa), kb = kind_of(b, &ib, &fb);
  if (ka == Kind::kInvalid || kb == Kind::kInvalid) return failed("invalid type for comparison");
  auto sign = [](auto x, auto y) { return x < y ? -1 : x > y ? 1 : 0; };
  if (ka != kb) {
    bool ints = (ka == Kind::kInt || ka == Kind::kUint) && (kb == Kind::kInt || kb == Kind::kUint);
    if (!ints) return failed("incompatible types for comparison");
    return sign(ia, ib);  // a byte is 0..255: no sign trouble
  }
  switch (ka) {
    case Kind::kBool:
      if (ordered) return failed("invalid type for comparison");
      return a.node->get<bool>() == b.node->get<bool>() ? 0 : 1;
    case Kind::kFloat: return fa == fb ? 0 : sign(fa, fb);
    case Kind::kString: {
      int c = a.node->get_ref<const std::string&>().compare(b.node->get_ref<const std::string&>());
      return sign(c, 0);
    }
    default: return sign(ia, ib);
  }
}

Result<bool> filter_passes(const std::string& op, const Value& a, const Value& b) {
  if (op == "==" || op == "!=") {
    auto c = compare(a, b, false);
    if (!c) return c.status();
    return (*c == 0) == (op == "==");
  }
  if (op != "<" && op != ">" && op != "<=" && op != ">=") return failed("unrecognized filter operator " + op);
  auto c = compare(a, b, true);
  if (!c) return c.status();
  if (op == "<") return *c < 0;
  if (op == ">") return *c > 0;
  if (op == "<=") return *c <= 0;
  return *c >= 0;
}

class Evaluator {
 public:
  Evaluator(const Node& root, const JsonPathOptions& options) : root_(root), options_(options) {}

  // kubectl's FindResults: each top-level node's results; a range runs the nodes after it
  // once per value, up to its {end}, then evaluation resumes after that {end}.
  Status find_results(Value data, size_t first, int ranges, std::vector<std::vector<Value>>* full) {
    if (ranges > kMaxRangeNesting) return failed(fmt::format("ranges nested more than {} deep", kMaxRangeNesting));
    std::vector<Value> cur{data};
    const std::vector<Node>& nodes = root_.nodes;
    for (size_t i = first; i < nodes.size(); ++i) {
      std::vector<Value> results;
      if (Status s = walk(cur, nodes[i], &results); !s) return s;
      if (end_range_ > 0 && end_range_ <= in_range_) {
        --end_range_;
        last_end_ = i;
        break;
      }
      if (begin_range_ > 0) {
        --begin_range_;
        ++in_range_;
        if (!results.empty()) {
          for (const Value& v : results) {
            if (Status s = find_results(v, i + 1, ranges + 1, full); !s) return s;
          }
        } else {  // still walk the body once, to find its {end} (and its errors)
          std::vector<std::vector<Value>> discarded;
          if (Status s = find_results(Value{}, i + 1, ranges + 1, &discarded); !s) return s;
        }
        --in_range_;
        if (last_end_ > i && last_end_ < nodes.size()) i = last_end_;
        continue;
      }
      full->push_back(std::move(results));
    }
    return Status::ok();
  }

 private:
  Status walk(const std::vector<Value>& in, const Node& node, std::vector<Value>* out) {
    Status s = Status::ok();
    switch (node.type) {
      case NodeType::kList: s = list(in, node, out); break;
      case NodeType::kText: out->push_back({node.literal.get()}); break;
      case NodeType::kInt:
      case NodeType::kFloat:
      case NodeType::kBool: out->assign(in.size(), Value{node.literal.get()}); break;
      case NodeType::kField: s = field(in, node.name, out); break;
      case NodeType::kArray: s = array(in, node, out); break;
      case NodeType::kFilter: s = filter(in, node, out); break;
      case NodeType::kWildcard: wildcard(in, out); break;
      case NodeType::kRecursive: recursive(in, out); break;
      case NodeType::kUnion:
        for (const Node& l : node.nodes) {
          std::vector<Value> part;
          if (s = list(in, l, &part); !s) break;
          out->insert(out->end(), part.begin(), part.end());
        }
        break;
      case NodeType::kIdentifier:
        if (node.name == "range") {
          ++begin_range_;
          *out = in;
        } else if (node.name == "end") {
          if (in_range_ == 0) return failed("not in range, nothing to end");
          ++end_range_;
        } else {
          return failed("unrecognized identifier " + node.name);
        }
        break;
    }
    if (!s) return s;
    visited_ += out->size();
    if (visited_ > kMaxValues) {
      return failed(fmt::format("visits more than {} values; narrow the template (does it need '..'?)", kMaxValues));
    }
    return Status::ok();
  }

  Status list(const std::vector<Value>& in, const Node& node, std::vector<Value>* out) {
    std::vector<Value> cur = in;
    for (const Node& n : node.nodes) {
      std::vector<Value> next;
      if (Status s = walk(cur, n, &next); !s) return s;
      cur = std::move(next);
    }
    *out = std::move(cur);
    return Status::ok();
  }

  Status field(const std::vector<Value>& in, const std::string& name, std::vector<Value>* out) {
    if (in.empty()) return Status::ok();
    for (const Value& v : in) {
      if (is_nil(v) || !v.node || !v.node->is_object()) continue;
      if (auto it = v.node->find(name); it != v.node->end()) out->push_back({&*it});
    }
    if (out->empty() && !options_.allow_missing_keys) return failed(name + " is not found");
    return Status::ok();
  }

  Status array(const std::vector<Value>& in, const Node& node, std::vector<Value>* out) {
    for (const Value& v : in) {
      if (v.node && v.node->is_null()) continue;
      // Nothing at all (the body of a range over no values) is an error too: kubectl panics.
      if (!v.node || !v.node->is_array()) return failed(go_type(v) + " is not array or slice");
      const auto len = static_cast<int64_t>(v.node->size());
      SliceParam p[3] = {node.params[0], node.params[1], node.params[2]};
      if (!p[0].known) p[0].value = 0;
      if (p[0].value < 0) p[0].value += len;
      if (!p[1].known) p[1].value = len;
      if (p[1].value < 0 || (p[1].value == 0 && p[1].derived)) p[1].value += len;
      if (p[1].value == p[0].value) return Status::ok();  // nothing asked for: kubectl stops here
      if (p[0].value >= len || p[0].value < 0) {
        return failed(fmt::format("array index out of bounds: index {}, length {}", p[0].value, len));
      }
      if (p[1].value > len || p[1].value < 0) {
        return failed(fmt::format("array index out of bounds: index {}, length {}", p[1].value - 1, len));
      }
      if (p[0].value > p[1].value) {
        return failed(fmt::format("starting index {} is greater than ending index {}", p[0].value, p[1].value));
      }
      int64_t step = 1;
      if (p[2].known) {
        if (p[2].value <= 0) return failed("step must be > 0");
        step = p[2].value;
      }
      for (int64_t i = p[0].value; i < p[1].value; i = step > p[1].value - i ? p[1].value : i + step) {
        out->push_back({&(*v.node)[static_cast<size_t>(i)]});
      }
    }
    return Status::ok();
  }

  Status filter(const std::vector<Value>& in, const Node& node, std::vector<Value>* out) {
    for (const Value& v : in) {
      if (is_nil(v) || !v.node || !v.node->is_array()) {
        std::string shown = is_nil(v) ? "<nil>" : v.byte >= 0 ? std::to_string(v.byte) : go_json(*v.node);
        if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
        return failed(shown + " is not array or slice and cannot be filtered");
      }
      for (const json& element : *v.node) {
        std::vector<Value> item{{&element}}, lefts, rights;
        Status s = list(item, node.nodes[0], &lefts);
        if (node.name == "exists") {
          if (!lefts.empty()) out->push_back(item[0]);
          continue;
        }
        if (!s) return s;
        if (lefts.empty()) continue;
        if (lefts.size() > 1) return failed("can only compare one element at a time");
        if (s = list(item, node.nodes[1], &rights); !s) return s;
        if (rights.empty()) continue;
        if (rights.size() > 1) return failed("can only compare one element at a time");
        auto pass = filter_passes(node.name, lefts[0], rights[0]);
        if (!pass) return pass.status();
        if (*pass) out->push_back(item[0]);
      }
    }
    return Status::ok();
  }

  static void children(const Value& v, std::vector<Value>* out) {
    if (is_nil(v) || !v.node) return;
    if (v.node->is_object() || v.node->is_array()) {
      for (const json& c : *v.node) out->push_back({&c});
    } else if (v.node->is_string()) {
      for (unsigned char c : v.node->get_ref<const std::string&>()) out->push_back({nullptr, c});
    }
  }

  void wildcard(const std::vector<Value>& in, std::vector<Value>* out) {
    for (const Value& v : in) children(v, out);
  }

  static bool has_children(const Value& v) {
    return !is_nil(v) && v.node && (v.node->is_object() || v.node->is_array() || v.node->is_string()) && !v.node->empty() &&
           !(v.node->is_string() && v.node->get_ref<const std::string&>().empty());
  }

  // Every value that has children, parent before children (leaves are left out, as
  // kubectl leaves them out). Iterative: the depth of the object costs no stack.
  void recursive(const std::vector<Value>& in, std::vector<Value>* out) {
    struct Frame {
      std::vector<Value> kids;
      size_t next = 0;
    };
    for (const Value& v : in) {
      if (!has_children(v)) continue;
      out->push_back(v);
      if (v.node->is_string()) continue;
      std::vector<Frame> stack(1);
      children(v, &stack.back().kids);
      while (!stack.empty() && out->size() + visited_ <= kMaxValues) {
        Frame& f = stack.back();
        if (f.next == f.kids.size()) {
          stack.pop_back();
          continue;
        }
        Value child = f.kids[f.next++];
        if (!has_children(child)) continue;
        out->push_back(child);
        if (child.node->is_string()) continue;  // its bytes have no children
        Frame sub;
        children(child, &sub.kids);
        stack.push_back(std::move(sub));
      }
    }
  }

  const Node& root_;
  const JsonPathOptions& options_;
  int begin_range_ = 0, in_range_ = 0, end_range_ = 0;
  size_t last_end_ = SIZE_MAX;
  size_t visited_ = 0;
};

std::string print_value(const Value& v) {
  if (v.byte >= 0) return std::to_string(v.byte);
  if (!v.node) return "null";
  return go_print(*v.node);
}


Result<Node> parse_template(const std::string& tmpl) {
  if (tmpl.size() > kMaxTemplateBytes) {
    return invalid(fmt::format("jsonpath template is {} bytes long; at most {} are allowed", tmpl.size(), kMaxTemplateBytes));
  }
  Node root;
  if (Status s = jsonpath_internal::parse(tmpl, &root); !s) {
    return invalid(fmt::format("error parsing jsonpath \"{}\": {}", tmpl, s.message()));
  }
  return root;
}

}  // namespace

Status check_jsonpath(const std::string& tmpl) { return parse_template(tmpl).status(); }

Result<std::string> jsonpath(const std::string& tmpl, const json& object, const JsonPathOptions& options) {
  auto root = parse_template(tmpl);
  if (!root) return root.status();
  auto execution_error = [&](const Status& s) {
    return failed(fmt::format("error executing jsonpath \"{}\": {}", tmpl, s.message()));
  };
  std::vector<std::vector<Value>> results;
  Evaluator eval(*root, options);
  if (Status s = eval.find_results({&object}, 0, 0, &results); !s) return execution_error(s);
  std::string out;
  for (const auto& group : results) {
    for (size_t i = 0; i < group.size(); ++i) {
      out += print_value(group[i]);
      if (i + 1 < group.size()) out += ' ';
      if (out.size() > options.max_output) {
        return execution_error(failed(fmt::format("the output is larger than {} bytes", options.max_output)));
      }
    }
  }
  return out;
}

}  // namespace skiff::kube
