#include "expr/depends.h"

#include <cctype>

namespace skiff::expr {

// The depends expression as a tree. Evaluation example, for
//   depends: "(a.Succeeded || b.Failed) && !c.Skipped && d"
// with a Failed, b Failed, c Succeeded, d Succeeded:
//   a.Succeeded=false, b.Failed=true  -> (false || true) = true
//   !c.Skipped = !false = true
//   d (bare) = d.Succeeded || d.Skipped || d.Daemoned = true
//   true && true && true = true: the task runs.
struct DependsExpr::Node {
  enum Kind { kOperand, kAnd, kOr, kNot } kind = kOperand;
  std::string task;
  TaskResult result = TaskResult::kSucceeded;
  bool bare = false;  // `task` without a result: Succeeded || Skipped || Daemoned
  std::unique_ptr<Node> left, right;
};

namespace {

bool result_from_name(std::string_view name, TaskResult* out) {
  static const std::pair<const char*, TaskResult> kNames[] = {
      {"Succeeded", TaskResult::kSucceeded}, {"Failed", TaskResult::kFailed},
      {"Errored", TaskResult::kErrored},     {"Skipped", TaskResult::kSkipped},
      {"Omitted", TaskResult::kOmitted},     {"Daemoned", TaskResult::kDaemoned},
      {"AnySucceeded", TaskResult::kAnySucceeded}, {"AllFailed", TaskResult::kAllFailed},
  };
  for (const auto& [n, r] : kNames)
    if (name == n) {
      *out = r;
      return true;
    }
  return false;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<std::unique_ptr<DependsExpr::Node>> parse(std::vector<std::string>* tasks) {
    tasks_ = tasks;
    auto node = parse_or();
    if (!error_.empty()) return invalid(error_);
    skip_space();
    if (pos_ != s_.size()) return invalid(fail_at("unexpected \"" + std::string(s_.substr(pos_, 1)) + "\""));
    return node;
  }

 private:
  using NodePtr = std::unique_ptr<DependsExpr::Node>;

  std::string fail_at(const std::string& what) {
    return "depends \"" + std::string(s_) + "\": " + what + " at column " + std::to_string(pos_ + 1);
  }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view op) {
    skip_space();
    if (s_.substr(pos_, op.size()) == op) {
      pos_ += op.size();
      return true;
    }
    return false;
  }
  NodePtr binary(DependsExpr::Node::Kind kind, NodePtr l, NodePtr r) {
    auto n = std::make_unique<DependsExpr::Node>();
    n->kind = kind;
    n->left = std::move(l);
    n->right = std::move(r);
    return n;
  }
  NodePtr parse_or() {
    NodePtr left = parse_and();
    while (error_.empty() && eat("||")) left = binary(DependsExpr::Node::kOr, std::move(left), parse_and());
    return left;
  }
  NodePtr parse_and() {
    NodePtr left = parse_unary();
    while (error_.empty() && eat("&&")) left = binary(DependsExpr::Node::kAnd, std::move(left), parse_unary());
    return left;
  }
  NodePtr parse_unary() {
    if (++depth_ > 100) {
      error_ = fail_at("nested too deeply");
      return nullptr;
    }
    NodePtr out;
    if (eat("!")) {
      out = std::make_unique<DependsExpr::Node>();
      out->kind = DependsExpr::Node::kNot;
      out->left = parse_unary();
    } else if (eat("(")) {
      out = parse_or();
      if (error_.empty() && !eat(")")) error_ = fail_at("missing \")\"");
    } else {
      out = parse_operand();
    }
    --depth_;
    return out;
  }
  NodePtr parse_operand() {
    skip_space();
    size_t start = pos_;
    auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; };
    while (pos_ < s_.size() && is_name(s_[pos_])) ++pos_;
    if (pos_ == start) {
      error_ = fail_at(pos_ < s_.size() ? "expected a task name, found \"" + std::string(1, s_[pos_]) + "\""
                                        : "expected a task name at the end");
      return nullptr;
    }
    auto n = std::make_unique<DependsExpr::Node>();
    n->task = std::string(s_.substr(start, pos_ - start));
    if (pos_ < s_.size() && s_[pos_] == '.') {
      size_t rstart = ++pos_;
      while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      std::string_view result = s_.substr(rstart, pos_ - rstart);
      if (!result_from_name(result, &n->result)) {
        pos_ = rstart;
        error_ = fail_at("unknown task result \"" + std::string(result) +
                         "\"; use Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded or AllFailed");
        return nullptr;
      }
    } else {
      n->bare = true;
    }
    bool seen = false;
    for (const auto& t : *tasks_) seen |= t == n->task;
    if (!seen) tasks_->push_back(n->task);
    return n;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
  std::vector<std::string>* tasks_ = nullptr;
};

bool eval_operand(const DependsExpr::Node& n, const TaskOutcomes& outcomes) {
  TaskOutcome o = outcomes.outcome(n.task);
  if (n.bare) return o.phase == "Succeeded" || o.phase == "Skipped" || o.daemoned || o.continues;
  switch (n.result) {
    case TaskResult::kSucceeded: return o.phase == "Succeeded";
    case TaskResult::kFailed: return o.phase == "Failed";
    case TaskResult::kErrored: return o.phase == "Error";
    case TaskResult::kSkipped: return o.phase == "Skipped";
    case TaskResult::kOmitted: return o.phase == "Omitted";
    case TaskResult::kDaemoned: return o.daemoned;
    case TaskResult::kAnySucceeded: return o.any_succeeded;
    case TaskResult::kAllFailed: return o.all_failed;
  }
  return false;
}

bool eval(const DependsExpr::Node& n, const TaskOutcomes& outcomes) {
  switch (n.kind) {
    case DependsExpr::Node::kOperand: return eval_operand(n, outcomes);
    case DependsExpr::Node::kAnd: return eval(*n.left, outcomes) && eval(*n.right, outcomes);
    case DependsExpr::Node::kOr: return eval(*n.left, outcomes) || eval(*n.right, outcomes);
    case DependsExpr::Node::kNot: return !eval(*n.left, outcomes);
  }
  return false;
}

}  // namespace

DependsExpr::DependsExpr() = default;
DependsExpr::~DependsExpr() = default;
DependsExpr::DependsExpr(DependsExpr&&) noexcept = default;
DependsExpr& DependsExpr::operator=(DependsExpr&&) noexcept = default;

Result<DependsExpr> DependsExpr::parse(std::string_view text) {
  if (text.size() > 64 * 1024) return invalid("depends: longer than 64 KiB");
  DependsExpr out;
  Parser parser(text);
  auto root = parser.parse(&out.tasks_);
  if (!root) return root.status();
  out.root_ = std::move(*root);
  return out;
}

DependsExpr DependsExpr::from_dependencies(const std::vector<std::string>& tasks) {
  DependsExpr out;
  for (const auto& t : tasks) {
    auto n = std::make_unique<Node>();
    n->task = t;
    n->bare = true;
    out.tasks_.push_back(t);
    if (!out.root_) {
      out.root_ = std::move(n);
    } else {
      auto a = std::make_unique<Node>();
      a->kind = Node::kAnd;
      a->left = std::move(out.root_);
      a->right = std::move(n);
      out.root_ = std::move(a);
    }
  }
  return out;
}

const std::vector<std::string>& DependsExpr::tasks() const { return tasks_; }

bool DependsExpr::evaluate(const TaskOutcomes& outcomes) const {
  return !root_ || eval(*root_, outcomes);
}

}  // namespace skiff::expr
