// The `depends` grammar of Argo DAG tasks.
//
//   depends: "(a.Succeeded || b.Failed) && !c.Skipped && d"
//
// Operands are `task` or `task.Result` where Result is Succeeded, Failed, Errored, Skipped,
// Omitted, Daemoned, AnySucceeded, AllFailed. A bare `task` means
// `(task.Succeeded || task.Skipped || task.Daemoned)`. `dependencies: [a, b]` is the same as
// `depends: "a && b"`. Parsing and evaluation are separate so that a DAG parses once and
// evaluates on every completion of a dependency. Immutable after parse; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace skiff::expr {

enum class TaskResult { kSucceeded, kFailed, kErrored, kSkipped, kOmitted, kDaemoned, kAnySucceeded, kAllFailed };

// What the evaluator needs to know about a dependency once it has finished.
struct TaskOutcome {
  bool finished = false;   // false while pending or running
  std::string phase;       // Argo phase: Succeeded, Failed, Error, Skipped, Omitted
  bool daemoned = false;
  bool any_succeeded = false;  // for expanded (loop) tasks: some child Succeeded
  bool all_failed = false;     // for expanded tasks: every child Failed
  bool continues = false;      // Failed/Error allowed by the task's continueOn: a bare name accepts it
};

class TaskOutcomes {
 public:
  virtual ~TaskOutcomes() = default;
  virtual TaskOutcome outcome(const std::string& task) const = 0;
};

class DependsExpr {
 public:
  ~DependsExpr();
  DependsExpr(DependsExpr&&) noexcept;
  DependsExpr& operator=(DependsExpr&&) noexcept;

  static Result<DependsExpr> parse(std::string_view text);
  // Builds "a && b && c" from a `dependencies` list.
  static DependsExpr from_dependencies(const std::vector<std::string>& tasks);

  // Task names referenced, each once, in order of first appearance.
  const std::vector<std::string>& tasks() const;

  // Evaluates once every referenced task has finished (callers check that first).
  bool evaluate(const TaskOutcomes& outcomes) const;

  struct Node;

 private:
  DependsExpr();
  std::unique_ptr<Node> root_;
  std::vector<std::string> tasks_;
};

}  // namespace skiff::expr
