// Lexer and Pratt parser for Argo's expression language (expr-lang syntax).
#include <cctype>
#include <cstdlib>

#include "expr/ast.h"

namespace skiff::expr::detail {

namespace {

constexpr size_t kMaxLength = 64 * 1024;
constexpr int kMaxDepth = 100;

struct Token {
  enum Kind { kEnd, kNumber, kString, kIdent, kOp } kind = kEnd;
  std::string text;
  Value number;
  size_t pos = 0;
};

class Lexer {
 public:
  Lexer(std::string_view s, bool bare_words) : s_(s), bare_words_(bare_words) {}

  Status run(std::vector<Token>* out) {
    for (;;) {
      while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      Token t;
      t.pos = pos_;
      if (pos_ >= s_.size()) {
        out->push_back(t);
        return Status::ok();
      }
      char c = s_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        if (Status st = number(&t); !st) return st;
      } else if (c == '\'' || c == '"' || c == '`') {
        if (Status st = string(&t); !st) return st;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
        size_t start = pos_;
        auto word_char = [&](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '$' ||
                 (bare_words_ && (ch == '-' || ch == '.' || ch == '/'));
        };
        while (pos_ < s_.size() && word_char(s_[pos_])) ++pos_;
        t.kind = Token::kIdent;
        t.text = std::string(s_.substr(start, pos_ - start));
      } else {
        static const char* kOps[] = {"**", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "=~", "!~", "..",
                                     "+",  "-",  "*",  "/",  "%",  "<",  ">",  "!",  "?",  ":",  ".",  ",",
                                     "(",  ")",  "[",  "]",  "{",  "}",  "#"};
        bool found = false;
        for (const char* op : kOps) {
          std::string_view o(op);
          if (s_.substr(pos_, o.size()) == o) {
            t.kind = Token::kOp;
            t.text = std::string(o);
            pos_ += o.size();
            found = true;
            break;
          }
        }
        if (!found) return invalid("unexpected character \"" + std::string(1, c) + "\" at column " + std::to_string(pos_ + 1));
      }
      out->push_back(std::move(t));
    }
  }

 private:
  Status number(Token* t) {
    size_t start = pos_;
    bool is_float = false;
    if (s_.substr(pos_, 2) == "0x" || s_.substr(pos_, 2) == "0X") {
      pos_ += 2;
      while (pos_ < s_.size() && std::isxdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    } else {
      while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      if (pos_ + 1 < s_.size() && s_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(s_[pos_ + 1]))) {
        is_float = true;
        ++pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      }
      if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
        is_float = true;
        ++pos_;
        if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      }
    }
    std::string text;
    for (char ch : s_.substr(start, pos_ - start))
      if (ch != '_') text += ch;
    t->kind = Token::kNumber;
    t->text = text;
    if (bare_words_ && pos_ < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-')) {
      // govaluate-style word that starts with a digit ("1.2.3", "3rd"): a string.
      while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) && s_[pos_] != ')' &&
             s_[pos_] != '=' && s_[pos_] != '!' && s_[pos_] != '<' && s_[pos_] != '>')
        ++pos_;
      t->kind = Token::kString;
      t->text = std::string(s_.substr(start, pos_ - start));
      return Status::ok();
    }
    errno = 0;
    if (is_float) {
      t->number = std::strtod(text.c_str(), nullptr);
    } else {
      long long v = std::strtoll(text.c_str(), nullptr, 0);
      if (errno == ERANGE) return invalid("number " + text + " is out of range");
      t->number = static_cast<int64_t>(v);
    }
    return Status::ok();
  }

  Status string(Token* t) {
    char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      char c = s_[pos_++];
      if (c == '\\' && quote != '`' && pos_ < s_.size()) {
        char e = s_[pos_++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          default: out += e;
        }
      } else {
        out += c;
      }
    }
    if (pos_ >= s_.size()) return invalid("unterminated string starting at column " + std::to_string(t->pos + 1));
    ++pos_;
    t->kind = Token::kString;
    t->text = std::move(out);
    return Status::ok();
  }

  std::string_view s_;
  bool bare_words_;
  size_t pos_ = 0;
};

// The builtins whose second argument is a predicate over `#` (eval.cc).
bool is_predicate_function(const std::string& name) {
  return name == "filter" || name == "map" || name == "all" || name == "any" || name == "none" || name == "one" ||
         name == "count";
}

int binary_precedence(const std::string& op) {
  if (op == "??") return 1;
  if (op == "||" || op == "or") return 2;
  if (op == "&&" || op == "and") return 3;
  if (op == "==" || op == "!=" || op == "=~" || op == "!~") return 4;
  if (op == "<" || op == ">" || op == "<=" || op == ">=" || op == "in" || op == "matches" ||
      op == "contains" || op == "startsWith" || op == "endsWith")
    return 5;
  if (op == "..") return 6;
  if (op == "+" || op == "-") return 7;
  if (op == "*" || op == "/" || op == "%") return 8;
  if (op == "**") return 9;
  return -1;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, bool bare_words) : t_(std::move(tokens)), bare_words_(bare_words) {}

  Result<AstPtr> parse_all() {
    AstPtr e = expression(0);
    if (!error_.empty()) return invalid(error_);
    if (peek().kind != Token::kEnd) return invalid(at("unexpected \"" + peek().text + "\""));
    return e;
  }

 private:
  const Token& peek() const { return t_[i_]; }
  bool is_op(const char* op) const { return (peek().kind == Token::kOp || peek().kind == Token::kIdent) && peek().text == op; }
  std::string at(const std::string& what) const { return what + " at column " + std::to_string(peek().pos + 1); }
  void fail(const std::string& what) {
    if (error_.empty()) error_ = at(what);
  }
  bool expect(const char* op) {
    if (peek().kind == Token::kOp && peek().text == op) {
      ++i_;
      return true;
    }
    fail(std::string("expected \"") + op + "\"" + (peek().kind == Token::kEnd ? " before the end" : ", found \"" + peek().text + "\""));
    return false;
  }

  static AstPtr node(Ast::Kind kind, std::string name = {}) {
    auto n = std::make_unique<Ast>();
    n->kind = kind;
    n->name = std::move(name);
    return n;
  }

  AstPtr expression(int min_prec) {
    if (++depth_ > kMaxDepth) {
      fail("expression nested too deeply");
      return node(Ast::kLiteral);
    }
    AstPtr left = unary();
    while (error_.empty()) {
      const Token& tok = peek();
      if (tok.kind == Token::kOp && tok.text == "?" && min_prec == 0) {
        ++i_;
        auto t = node(Ast::kTernary);
        t->args.push_back(std::move(left));
        t->args.push_back(expression(0));
        expect(":");
        t->args.push_back(expression(0));
        left = std::move(t);
        continue;
      }
      std::string op = tok.text;
      bool negated_in = false;
      if (tok.kind == Token::kIdent && op == "not" && i_ + 1 < t_.size() && t_[i_ + 1].text == "in") {
        negated_in = true;
        op = "in";
      }
      int prec = (tok.kind == Token::kOp || tok.kind == Token::kIdent) ? binary_precedence(op) : -1;
      if (tok.kind == Token::kIdent && prec < 0) break;
      if (prec < 0 || prec < min_prec) break;
      i_ += negated_in ? 2 : 1;
      // ** is right-associative; everything else left.
      AstPtr right = expression(op == "**" ? prec : prec + 1);
      auto b = node(Ast::kBinary, op);
      b->args.push_back(std::move(left));
      b->args.push_back(std::move(right));
      left = std::move(b);
      if (negated_in) {
        auto n = node(Ast::kUnary, "!");
        n->args.push_back(std::move(left));
        left = std::move(n);
      }
    }
    --depth_;
    return left;
  }

  AstPtr unary() {
    if (is_op("!") || is_op("not") || is_op("-") || is_op("+")) {
      std::string op = peek().text == "not" ? "!" : peek().text;
      ++i_;
      if (++depth_ > kMaxDepth) {
        fail("expression nested too deeply");
        return node(Ast::kLiteral);
      }
      auto n = node(Ast::kUnary, op);
      n->args.push_back(unary());
      --depth_;
      return n;
    }
    return postfix(primary());
  }

  AstPtr postfix(AstPtr e) {
    while (error_.empty()) {
      if (is_op(".") || is_op("?.")) {
        ++i_;
        if (peek().kind != Token::kIdent) {
          fail("expected a field name after \".\"");
          break;
        }
        auto m = node(Ast::kMember, peek().text);
        ++i_;
        m->args.push_back(std::move(e));
        e = std::move(m);
      } else if (is_op("[")) {
        ++i_;
        auto ix = node(Ast::kIndex);
        ix->args.push_back(std::move(e));
        ix->args.push_back(expression(0));
        expect("]");
        e = std::move(ix);
      } else if (is_op("(")) {
        ++i_;
        std::string fname;
        if (e->kind == Ast::kIdent) fname = e->name;
        else if (e->kind == Ast::kMember && e->args[0]->kind == Ast::kIdent) fname = e->args[0]->name + "." + e->name;
        else {
          fail("only named functions can be called");
          break;
        }
        auto call = node(Ast::kCall, fname);
        while (error_.empty() && !is_op(")")) {
          if (peek().kind == Token::kEnd) {
            fail("missing \")\"");
            break;
          }
          // Predicates of all/any/filter/map are written as expressions over `#`, bare or
          // as a closure in braces: filter(xs, # > 1) or filter(xs, {# > 1}).
          if (!call->args.empty() && is_predicate_function(fname) && is_op("{")) {
            ++i_;
            call->args.push_back(expression(0));
            expect("}");
          } else {
            call->args.push_back(expression(0));
          }
          if (!is_op(")") && !expect(",")) break;
        }
        if (error_.empty()) ++i_;
        e = std::move(call);
      } else {
        break;
      }
    }
    return e;
  }

  AstPtr primary() {
    const Token& tok = peek();
    switch (tok.kind) {
      case Token::kNumber: {
        auto n = node(Ast::kLiteral);
        n->literal = tok.number;
        ++i_;
        return n;
      }
      case Token::kString: {
        auto n = node(Ast::kLiteral);
        n->literal = tok.text;
        ++i_;
        return n;
      }
      case Token::kIdent: {
        ++i_;
        if (tok.text == "true" || tok.text == "false") {
          auto n = node(Ast::kLiteral);
          n->literal = tok.text == "true";
          return n;
        }
        if (tok.text == "nil" || tok.text == "null") return node(Ast::kLiteral);
        if (bare_words_) {
          auto n = node(Ast::kLiteral);
          n->literal = tok.text;
          return n;
        }
        return node(Ast::kIdent, tok.text);
      }
      case Token::kOp:
        if (tok.text == "(") {
          ++i_;
          AstPtr e = expression(0);
          expect(")");
          return e;
        }
        if (tok.text == "#") {
          ++i_;
          return node(Ast::kPointer);
        }
        if (tok.text == "[") {
          ++i_;
          auto l = node(Ast::kList);
          while (error_.empty() && !is_op("]")) {
            l->args.push_back(expression(0));
            if (!is_op("]") && !expect(",")) break;
          }
          if (error_.empty()) ++i_;
          return l;
        }
        if (tok.text == "{") {
          ++i_;
          auto m = node(Ast::kMap);
          while (error_.empty() && !is_op("}")) {
            if (peek().kind == Token::kIdent || peek().kind == Token::kString) {
              auto k = node(Ast::kLiteral);
              k->literal = peek().text;
              ++i_;
              m->args.push_back(std::move(k));
            } else {
              fail("expected a map key");
              break;
            }
            expect(":");
            m->args.push_back(expression(0));
            if (!is_op("}") && !expect(",")) break;
          }
          if (error_.empty()) ++i_;
          return m;
        }
        fail("unexpected \"" + tok.text + "\"");
        return node(Ast::kLiteral);
      case Token::kEnd:
        fail("unexpected end of expression");
        return node(Ast::kLiteral);
    }
    return node(Ast::kLiteral);
  }

  std::vector<Token> t_;
  bool bare_words_;
  size_t i_ = 0;
  int depth_ = 0;
  std::string error_;
};

}  // namespace

Result<AstPtr> parse(std::string_view text, const ParseOptions& options) {
  if (text.size() > kMaxLength) return invalid("expression longer than 64 KiB");
  std::vector<Token> tokens;
  Lexer lexer(text, options.bare_words_are_strings);
  if (Status st = lexer.run(&tokens); !st) return st;
  Parser parser(std::move(tokens), options.bare_words_are_strings);
  return parser.parse_all();
}

void collect_variables(const Ast& ast, std::vector<std::string>* out) {
  // A chain of member accesses on an identifier names one dotted variable.
  if (ast.kind == Ast::kIdent || ast.kind == Ast::kMember) {
    std::string path;
    const Ast* n = &ast;
    std::vector<std::string> parts;
    while (n->kind == Ast::kMember) {
      parts.push_back(n->name);
      n = n->args[0].get();
    }
    if (n->kind == Ast::kIdent) {
      path = n->name;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += "." + *it;
      out->push_back(path);
      return;
    }
  }
  for (const auto& a : ast.args) collect_variables(*a, out);
}

}  // namespace skiff::expr::detail
