// Condition: a `resource` step's successCondition or failureCondition, as Argo reads them.
//
// Argo parses the text with Kubernetes' label-selector grammar (labels.Parse) and answers
// each requirement's key by looking the key up as a gjson path in the object's JSON:
//
//   status.phase in (Failed, Error), status.succeeded > 0, !status.failed
//
// Operators: `=`/`==` (equal), `!=` (not equal, or absent), `in (a, b)`, `notin (a, b)`
// (or absent), `key` (exists), `!key` (absent), `>`/`<` (integers on both sides). Keys and
// values are checked as Kubernetes checks label keys and values (a key is at most 63
// characters of [A-Za-z0-9._-] with an optional DNS-subdomain prefix and '/'; a value at
// most 63), so a condition Argo refuses is refused here, with where it is wrong.
//
// What a key names, as gjson renders it: a string as is, an integer as written, another
// number in the shortest fixed notation ("1.5", "1000"), true/false, null as "" (but
// present), an object or array as compact JSON. Path segments index arrays by number
// ("status.conditions.0.type"). A parsed Condition is an immutable value; any thread.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::runtime {

class Condition {
 public:
  enum class Op { kEquals, kDoubleEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };
  struct Requirement {
    std::string key;
    Op op = Op::kExists;
    std::vector<std::string> values;  // sorted, without duplicates (as Kubernetes keeps them)
  };
  struct Outcome {
    bool matched = false;
    std::string detail;  // `status.phase==Failed (is "Running")`, "status.failed>3 (absent)"
  };

  // kInvalid naming the condition and where it is wrong:
  //   successCondition "x in (": expected a value or ')' at column 7, found the end
  // `what` is "successCondition" or "failureCondition". Empty text is no requirement.
  static Result<Condition> parse(const std::string& text, const std::string& what);

  // One outcome per requirement, in Argo's order (requirements sorted by key).
  std::vector<Outcome> evaluate(const nlohmann::json& object) const;
  // Whether every requirement matches: a success condition is met (true when empty).
  bool all_match(const nlohmann::json& object) const;
  // Whether any requirement matches: Argo fails the step when any requirement of its
  // failure condition matches. `which`, if given, gets that requirement's detail.
  bool any_matches(const nlohmann::json& object, std::string* which = nullptr) const;

  const std::string& text() const { return text_; }
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::string text_;
  std::vector<Requirement> requirements_;
};

// Kubernetes' rendering of one requirement: "status.phase in (Error,Failed)", "!x", "a>3".
std::string describe(const Condition::Requirement& requirement);

// The text gjson gives for `path` in `object` ("a.b.0.c", '\' escapes the next character),
// or false when nothing is there. Exposed for tests and for messages.
bool gjson_lookup(const nlohmann::json& object, const std::string& path, std::string* value);

}  // namespace skiff::runtime
