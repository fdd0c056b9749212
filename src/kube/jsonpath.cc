#include "kube/jsonpath.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "kube/go_text.h"

// A port of the behaviour of k8s.io/client-go/util/jsonpath (parser.go, jsonpath.go), which
// `kubectl get -o jsonpath=` runs, checked against kubectl v1.37 by hand. Its quirks are
// kept on purpose: "['a.b']" reads fields a then b, a field of a string is nothing, "*"
// over a string gives its bytes as numbers, `$` means the current value (inside a range:
// the item), and text in quotes replaces whatever the action had computed before it.
namespace skiff::kube {
namespace {

using nlohmann::json;

constexpr size_t kMaxTemplateBytes = 16 * 1024;
constexpr int kMaxRangeNesting = 64;
constexpr size_t kMaxValues = 1000 * 1000;
constexpr int kEof = -1;

enum class NodeType { kList, kText, kField, kArray, kFilter, kInt, kFloat, kBool, kWildcard, kRecursive, kUnion, kIdentifier };

struct SliceParam {
  int64_t value = 0;
  bool known = false;
  bool derived = false;  // the end of "[i]", which is i+1
};

struct Node {
  NodeType type = NodeType::kList;
  std::string name;         // a field or identifier; a filter's operator
  json literal;             // the value of a text, int, float or bool node
  SliceParam params[3];     // start, end, step
  std::vector<Node> nodes;  // a list's nodes; a filter's {left, right}; a union's lists
};

Node leaf(NodeType type, std::string name = "", json literal = nullptr) {
  Node n;
  n.type = type;
  n.name = std::move(name);
  n.literal = std::move(literal);
  return n;
}

bool is_terminator(int r) {
  switch (r) {
    case ' ': case '\t': case '\r': case '\n': case kEof: case '.': case ',': case '[': case ']': case '$': case '@':
    case '{': case '}': return true;
    default: return false;
  }
}
bool is_digit(int r) { return r >= '0' && r <= '9'; }
// Go's unicode.IsLetter, approximated: every non-ASCII character counts as a letter.
bool is_alnum(int r) { return r == '_' || is_digit(r) || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r >= 0x80; }

// Go's strconv.Atoi.
bool atoi64(const std::string& s, int64_t* out) {
  std::string_view v = s;
  bool plus = !v.empty() && v.front() == '+';
  if (plus) v.remove_prefix(1);
  if (v.empty() || v.front() == '+' || (plus && v.front() == '-') || v == "-") return false;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && end == v.data() + v.size();
}

bool parse_float(const std::string& s, double* out) {
  std::string_view v = s;
  bool plus = !v.empty() && v.front() == '+';
  if (plus) v.remove_prefix(1);
  if (v.empty() || v.front() == '+' || (plus && v.front() == '-')) return false;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && end == v.data() + v.size();
}

void append_utf8(uint32_t c, std::string* out) {
  if (c < 0x80) {
    *out += static_cast<char>(c);
  } else if (c < 0x800) {
    *out += static_cast<char>(0xC0 | (c >> 6));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    *out += static_cast<char>(0xE0 | (c >> 12));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (c >> 18));
    *out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Go's strconv.Unquote, extended (as kubectl's is) to single-quoted strings.
bool unquote(const std::string& quoted, std::string* out) {
  if (quoted.size() < 2 || quoted.front() != quoted.back()) return false;
  char quote = quoted.front();
  std::string_view s(quoted.data() + 1, quoted.size() - 2);
  out->clear();
  while (!s.empty()) {
    char c = s.front();
    if (c == quote) return false;
    if (c != '\\') {
      *out += c;
      s.remove_prefix(1);
      continue;
    }
    if (s.size() < 2) return false;
    char e = s[1];
    s.remove_prefix(2);
    static const std::string_view kSimple = "a\ab\bf\fn\nr\rt\tv\v\\\\";
    if (size_t at = kSimple.find(e); at != std::string_view::npos && at % 2 == 0) {
      *out += kSimple[at + 1];
    } else if (e == '\'' || e == '"') {
      if (e != quote) return false;
      *out += e;
    } else if (e == 'x' || e == 'u' || e == 'U') {
      size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (s.size() < n) return false;
      uint32_t v = 0;
      for (size_t i = 0; i < n; ++i) {
        char h = s[i];
        int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
        if (d < 0) return false;
        v = v * 16 + static_cast<uint32_t>(d);
      }
      s.remove_prefix(n);
      if (e == 'x') {
        *out += static_cast<char>(v);
      } else {
        if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) return false;
        append_utf8(v, out);
      }
    } else if (e >= '0' && e <= '7') {
      if (s.size() < 2) return false;
      uint32_t v = static_cast<uint32_t>(e - '0');
      for (int i = 0; i < 2; ++i) {
        if (s[i] < '0' || s[i] > '7') return false;
        v = v * 8 + static_cast<uint32_t>(s[i] - '0');
      }
      if (v > 255) return false;
      s.remove_prefix(2);
      *out += static_cast<char>(v);
    } else {
      return false;
    }
  }
  return true;
}

// Go's %#U: "U+0041 'A'", or just "U+0009" for a character that does not print.
std::string describe_rune(int r) {
  std::string out = fmt::format("U+{:04X}", r);
  if (r >= 0x20 && r < 0x7F) out += fmt::format(" '{}'", static_cast<char>(r));
  return out;
}

class Parser {
 public:
  explicit Parser(std::string input) : input_(std::move(input)) {}

  // The template's top-level nodes: text, and one list per action.
  Status parse(Node* root) {
    root->type = NodeType::kList;
    while (true) {
      size_t brace = input_.find('{', pos_);
      if (brace == std::string::npos) {
        if (input_.size() > start_) root->nodes.push_back(leaf(NodeType::kText, "", input_.substr(start_)));
        return Status::ok();
      }
      if (brace > start_) root->nodes.push_back(leaf(NodeType::kText, "", input_.substr(start_, brace - start_)));
      pos_ = start_ = brace + 1;
      root->nodes.push_back(leaf(NodeType::kList));
      if (Status s = action(&root->nodes.back()); !s) return s;
    }
  }

 private:
  int next() {
    if (pos_ >= input_.size()) {
      width_ = 0;
      return kEof;
    }
    auto b = static_cast<unsigned char>(input_[pos_]);
    width_ = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    width_ = std::min(width_, input_.size() - pos_);
    int r = b;
    if (width_ > 1) {
      r = b & (0xFF >> (width_ + 1));
      for (size_t i = 1; i < width_; ++i) r = (r << 6) | (static_cast<unsigned char>(input_[pos_ + i]) & 0x3F);
    }
    pos_ += width_;
    return r;
  }
  void backup() { pos_ -= width_; }
  int peek() {
    int r = next();
    backup();
    return r;
  }
  std::string consume_text() {
    std::string v = input_.substr(start_, pos_ - start_);
    start_ = pos_;
    return v;
  }
  bool at(std::string_view prefix) const { return std::string_view(input_).substr(pos_).substr(0, prefix.size()) == prefix; }

  // Parses `text` as if it were the inside of an action, for filters, unions and ['key'].
  // These cannot nest more than a level or two: the text of a filter ends at its first
  // ')' outside quotes, that of a union or key at its first ']'.
  Result<Node> sub_action(const std::string& text) {
    Node root;
    Parser sub("{" + text + "}");
    if (Status s = sub.parse(&root); !s) return s;
    return std::move(root.nodes.front());
  }

  // Inside braces until the closing one.
  Status action(Node* cur) {
    while (true) {
      Status s;
      if (at("}")) {
        pos_ += 1;
        start_ = pos_;
        return Status::ok();
      } else if (at("[?(")) {
        s = filter(cur);
      } else if (at("..")) {
        if (!cur->nodes.empty() && cur->nodes.back().type == NodeType::kRecursive) {
          return invalid("invalid multiple recursive descent");
        }
        pos_ += 2;
        start_ = pos_;
        cur->nodes.push_back(leaf(NodeType::kRecursive));
        if (is_alnum(peek())) s = field(cur);
      } else {
        int r = next();
        if (r == kEof || r == '\r' || r == '\n') return invalid("unclosed action");
        if (r == ' ' || r == '@' || r == '$') {
          start_ = pos_;  // '@' and '$' both mean the current value: nothing to do
        } else if (r == '[') {
          s = array(cur);
        } else if (r == '"' || r == '\'') {
          s = quote(cur, r);
        } else if (r == '.') {
          s = field(cur);
        } else if (r == '+' || r == '-' || is_digit(r)) {
          backup();
          s = number(cur);
        } else if (is_alnum(r)) {
          backup();
          s = identifier(cur);
        } else {
          return invalid("unrecognized character in action: " + describe_rune(r));
        }
      }
      if (!s) return s;
    }
  }

  Status field(Node* cur) {
    start_ = pos_;
    while (true) {
      int r = next();
      if (r == '\\') {
        next();
      } else if (is_terminator(r)) {
        backup();
        break;
      }
    }
    std::string value = consume_text();
    if (value == "*") {
      cur->nodes.push_back(leaf(NodeType::kWildcard));
    } else {
      std::string name;
      for (char c : value) {
        if (c != '\\') name += c;
      }
      cur->nodes.push_back(leaf(NodeType::kField, name));
    }
    return Status::ok();
  }

  Status identifier(Node* cur) {
    while (!is_terminator(next())) {
    }
    backup();
    std::string value = consume_text();
    if (value == "true" || value == "false") {
      cur->nodes.push_back(leaf(NodeType::kBool, "", value == "true"));
    } else {
      cur->nodes.push_back(leaf(NodeType::kIdentifier, value));
    }
    return Status::ok();
  }

  Status number(Node* cur) {
    int r = peek();
    if (r == '+' || r == '-') next();
    while (true) {
      r = next();
      if (r != '.' && !is_digit(r)) {
        backup();
        break;
      }
    }
    std::string value = consume_text();
    int64_t i;
    double d;
    if (atoi64(value, &i)) {
      cur->nodes.push_back(leaf(NodeType::kInt, "", i));
    } else if (parse_float(value, &d)) {
      cur->nodes.push_back(leaf(NodeType::kFloat, "", d));
    } else {
      return invalid("cannot parse number " + value);
    }
    return Status::ok();
  }

  Status array(Node* cur) {
    while (true) {
      int r = next();
      if (r == kEof || r == '\n') return invalid("unterminated array");
      if (r == ']') break;
    }
    std::string all = consume_text();
    std::string text = all.substr(1, all.size() - 2);
    if (text == "*") text = ":";
    if (text.find(',') != std::string::npos) {  // a union: [1,3] or ['a','b']
      Node u = leaf(NodeType::kUnion);
      size_t from = 0;
      while (true) {
        size_t comma = text.find(',', from);
        std::string part = text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        size_t b = part.find_first_not_of(' '), e = part.find_last_not_of(' ');
        part = b == std::string::npos ? "" : part.substr(b, e - b + 1);
        auto list = sub_action("[" + part + "]");
        if (!list) return list.status();
        u.nodes.push_back(std::move(*list));
        if (comma == std::string::npos) break;
        from = comma + 1;
      }
      cur->nodes.push_back(std::move(u));
      return Status::ok();
    }
    if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'' &&
        text.find('\'', 1) == text.size() - 1) {  // ['key'], read as .key
      auto list = sub_action("." + text.substr(1, text.size() - 2));
      if (!list) return list.status();
      for (Node& n : list->nodes) cur->nodes.push_back(std::move(n));
      return Status::ok();
    }
    // [start:end:step], each part -?digits and each optional.
    std::vector<std::string> parts;
    std::vector<bool> present;
    size_t from = 0;
    while (true) {
      size_t colon = text.find(':', from);
      parts.push_back(text.substr(from, colon == std::string::npos ? std::string::npos : colon - from));
      if (colon == std::string::npos) break;
      from = colon + 1;
    }
    bool ok = parts.size() <= 3;
    for (const std::string& p : parts) {
      size_t digits_from = !p.empty() && p[0] == '-' ? 1 : 0;
      for (size_t i = digits_from; i < p.size(); ++i) ok = ok && is_digit(p[i]);
    }
    if (!ok) return invalid("invalid array index " + text);
    Node a = leaf(NodeType::kArray);
    for (size_t i = 0; i < 3; ++i) {
      bool given = i == 0 ? !parts[0].empty() : i < parts.size();
      if (given) {
        if (i > 0 && parts[i].empty()) {
          a.params[i].known = false;
        } else {
          a.params[i].known = true;
          if (!atoi64(parts[i], &a.params[i].value)) return invalid("array index " + parts[i] + " is not a number");
        }
      } else if (i == 1) {
        int64_t start = a.params[0].value;
        a.params[1] = {start == INT64_MAX ? start : start + 1, true, true};
      }
    }
    cur->nodes.push_back(std::move(a));
    return Status::ok();
  }

  Status filter(Node* cur) {
    pos_ += 3;
    start_ = pos_;
    bool begin = false, end = false;
    int pair = 0;
    while (true) {
      int r = next();
      if (r == kEof || r == '\n') return invalid("unterminated filter");
      if (r == '"' || r == '\'') {
        if (!begin) {
          begin = true;
          pair = r;
          continue;
        }
        if (input_[pos_ - 2] != '\\' && r == pair) end = true;
      } else if (r == ')' && begin == end) {
        break;
      }
    }
    if (next() != ']') return invalid("unclosed array expect ]");
    std::string text = consume_text();
    text.resize(text.size() - 2);
    // ^([^!<>=]+)([!<>=]+)(.+?)$: a left side, an operator, a right side.
    size_t op_at = text.find_first_of("!<>=");
    size_t right_at = op_at == std::string::npos ? op_at : text.find_first_not_of("!<>=", op_at);
    if (right_at == std::string::npos && op_at != std::string::npos && text.size() - op_at >= 2) {
      right_at = text.size() - 1;  // "a==": the regex leaves the last '=' to the right side
    }
    Node f = leaf(NodeType::kFilter);
    if (op_at == 0 || op_at == std::string::npos || right_at == std::string::npos) {
      auto left = sub_action(text);
      if (!left) return left.status();
      f.name = "exists";
      f.nodes.push_back(std::move(*left));
      f.nodes.push_back(leaf(NodeType::kList));
    } else {
      auto left = sub_action(text.substr(0, op_at));
      if (!left) return left.status();
      auto right = sub_action(text.substr(right_at));
      if (!right) return right.status();
      f.name = text.substr(op_at, right_at - op_at);
      f.nodes.push_back(std::move(*left));
      f.nodes.push_back(std::move(*right));
    }
    cur->nodes.push_back(std::move(f));
    return Status::ok();
  }

  Status quote(Node* cur, int q) {
    while (true) {
      int r = next();
      if (r == kEof || r == '\n') return invalid("unterminated quoted string");
      if (r == q && input_[pos_ - 2] != '\\') break;
    }
    std::string value = consume_text();
    std::string text;
    if (!unquote(value, &text)) return invalid("unquote string " + value + " error invalid syntax");
    cur->nodes.push_back(leaf(NodeType::kText, "", text));
    return Status::ok();
  }

  std::string input_;
  size_t pos_ = 0, start_ = 0, width_ = 0;
};

// A value met while evaluating: a JSON node, a literal of the template, a byte of a
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
      case NodeType::kText: out->push_back({&node.literal}); break;
      case NodeType::kInt:
      case NodeType::kFloat:
      case NodeType::kBool: out->assign(in.size(), Value{&node.literal}); break;
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
      if (is_nil(v)) continue;
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
  if (Status s = Parser(tmpl).parse(&root); !s) {
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
