#include "kube/jsonpath_parser.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "util/strings.h"

// Kept from kubectl on purpose: "['a.b']" reads fields a then b, `$` and `@` both mean the
// current value, a union or filter is parsed again as an action of its own.
namespace skiff::kube::jsonpath_internal {
namespace {

using nlohmann::json;

constexpr int kEof = -1;

Node leaf(NodeType type, std::string name = "", json literal = nullptr) {
  Node n;
  n.type = type;
  n.name = std::move(name);
  if (!literal.is_null()) n.literal = std::make_shared<const json>(std::move(literal));
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
    if (parse_go_int64(value, &i)) {
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
      for (const std::string& part : split(text, ',')) {
        size_t b = part.find_first_not_of(' '), e = part.find_last_not_of(' ');
        std::string index(1, '[');
        if (b != std::string::npos) index.append(part, b, e - b + 1);
        auto list = sub_action(index.append(1, ']'));
        if (!list) return list.status();
        u.nodes.push_back(std::move(*list));
      }
      cur->nodes.push_back(std::move(u));
      return Status::ok();
    }
    if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'' &&
        text.find('\'', 1) == text.size() - 1) {  // ['key'], read as .key
      auto list = sub_action(std::string(1, '.').append(text, 1, text.size() - 2));
      if (!list) return list.status();
      for (Node& n : list->nodes) cur->nodes.push_back(std::move(n));
      return Status::ok();
    }
    // [start:end:step], each part -?digits and each optional.
    std::vector<std::string> parts = split(text, ':');
    bool ok = parts.size() <= 3;
    for (const std::string& p : parts) {
      size_t digits_from = !p.empty() && p[0] == '-' ? 1 : 0;
      for (size_t i = digits_from; i < p.size(); ++i) ok = ok && is_digit(p[i]);
    }
    if (!ok) return invalid("invalid array index " + text);
    Node a = leaf(NodeType::kArray);
    for (size_t i = 0; i < 3; ++i) {
      bool given = i < parts.size();  // "[1:]": the end is given, and unknown (all)
      if (given && !parts[i].empty()) {
        a.params[i].known = true;
        if (!parse_go_int64(parts[i], &a.params[i].value)) return invalid("array index " + parts[i] + " is not a number");
      } else if (i == 1 && !given) {  // "[i]" is "[i:i+1]"
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


}  // namespace

Status parse(const std::string& tmpl, Node* root) { return Parser(tmpl).parse(root); }

}  // namespace skiff::kube::jsonpath_internal
