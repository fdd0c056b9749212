#include "expr/depends.h"

#include <gtest/gtest.h>

#include <map>

namespace skiff::expr {

namespace {

struct Outcomes : TaskOutcomes {
  std::map<std::string, TaskOutcome> m;
  TaskOutcome outcome(const std::string& t) const override { return m.at(t); }
  void set(const std::string& t, const char* phase) { m[t] = TaskOutcome{true, phase}; }
};

}  // namespace

TEST(Depends, BareNameMeansSucceededSkippedOrDaemoned) {
  auto d = DependsExpr::parse("a");
  ASSERT_TRUE(d.is_ok());
  Outcomes o;
  o.set("a", "Succeeded");
  EXPECT_TRUE(d->evaluate(o));
  o.set("a", "Skipped");
  EXPECT_TRUE(d->evaluate(o));
  o.set("a", "Failed");
  EXPECT_FALSE(d->evaluate(o));
  o.m["a"].continues = true;
  EXPECT_TRUE(d->evaluate(o));
}

TEST(Depends, OperatorsAndResults) {
  auto d = DependsExpr::parse("(a.Succeeded || b.Failed) && !c.Skipped && d-1.Errored");
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  EXPECT_EQ(d->tasks(), (std::vector<std::string>{"a", "b", "c", "d-1"}));
  Outcomes o;
  o.set("a", "Failed");
  o.set("b", "Failed");
  o.set("c", "Succeeded");
  o.set("d-1", "Error");
  EXPECT_TRUE(d->evaluate(o));
  o.set("c", "Skipped");
  EXPECT_FALSE(d->evaluate(o));
}

TEST(Depends, AnySucceededAllFailedOmitted) {
  Outcomes o;
  o.m["loop"] = TaskOutcome{true, "Failed", false, true, false};
  o.set("x", "Omitted");
  EXPECT_TRUE(DependsExpr::parse("loop.AnySucceeded && x.Omitted")->evaluate(o));
  EXPECT_FALSE(DependsExpr::parse("loop.AllFailed")->evaluate(o));
}

TEST(Depends, FromDependencies) {
  auto d = DependsExpr::from_dependencies({"a", "b"});
  Outcomes o;
  o.set("a", "Succeeded");
  o.set("b", "Failed");
  EXPECT_FALSE(d.evaluate(o));
  o.set("b", "Succeeded");
  EXPECT_TRUE(d.evaluate(o));
}

TEST(Depends, ErrorsSayWhere) {
  auto bad = DependsExpr::parse("a.Succeeded &&");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("column"), std::string::npos);
  auto unknown = DependsExpr::parse("a.Finished");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("Finished"), std::string::npos);
  EXPECT_FALSE(DependsExpr::parse("(a").is_ok());
  EXPECT_FALSE(DependsExpr::parse("").is_ok());
}

}  // namespace skiff::expr
