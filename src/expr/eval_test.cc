#include "expr/eval.h"

#include <gtest/gtest.h>

namespace skiff::expr {

namespace {

std::string eval(const std::string& e, const Scope& s = Scope()) {
  auto r = evaluate_to_string(e, s);
  return r.is_ok() ? *r : "ERROR: " + r.status().message();
}

}  // namespace

TEST(Eval, Arithmetic) {
  EXPECT_EQ(eval("1 + 2 * 3"), "7");
  EXPECT_EQ(eval("(1 + 2) * 3"), "9");
  EXPECT_EQ(eval("5 / 2"), "2.5");
  EXPECT_EQ(eval("6 / 2"), "3");
  EXPECT_EQ(eval("5 % 2"), "1");
  EXPECT_EQ(eval("2 ** 10"), "1024");
  EXPECT_EQ(eval("-3 + 1"), "-2");
  EXPECT_EQ(eval("'a' + 'b'"), "ab");
  EXPECT_EQ(eval("1.5 + 1"), "2.5");
}

TEST(Eval, LogicComparisonAndTernary) {
  EXPECT_EQ(eval("1 < 2 && 'b' > 'a'"), "true");
  EXPECT_EQ(eval("not true or false"), "false");
  EXPECT_EQ(eval("1 == 1.0"), "true");
  EXPECT_EQ(eval("true ? 'y' : 'n'"), "y");
  EXPECT_EQ(eval("nil ?? 'd'"), "d");
  EXPECT_EQ(eval("'b' in ['a', 'b']"), "true");
  EXPECT_EQ(eval("'x' not in ['a']"), "true");
  EXPECT_EQ(eval("'hello' contains 'ell' && 'hello' startsWith 'he' && 'hello' endsWith 'lo'"), "true");
  EXPECT_EQ(eval("'abc' matches '^a.c$'"), "true");
}

TEST(Eval, Variables) {
  Scope s;
  s.set("inputs.parameters.n", "3");
  s.set("inputs.parameters.my-param", "dash");
  s.set("tasks.gen.outputs.result", "[1,2]");
  s.set_json("item", R"({"name":"a","tags":["x","y"]})");
  EXPECT_EQ(eval("asInt(inputs.parameters.n) + 1", s), "4");
  EXPECT_EQ(eval("inputs.parameters.n == '3'", s), "true");
  EXPECT_EQ(eval("inputs.parameters['my-param']", s), "dash");
  EXPECT_EQ(eval("item.name + item.tags[1]", s), "ay");
  EXPECT_EQ(eval("len(fromJson(tasks.gen.outputs.result))", s), "2");
  EXPECT_EQ(eval("toJson(inputs.parameters)", s), R"({"my-param":"dash","n":"3"})");
  EXPECT_NE(eval("nope.x", s).find("unknown name nope.x"), std::string::npos);
  // {{inputs.parameters}} is Argo's list for substitution; an expression sees the object.
  s.set_json("inputs.parameters", R"([{"name":"n","value":"3"}])");
  EXPECT_EQ(eval("toJson(inputs.parameters)", s), R"({"my-param":"dash","n":"3"})");
  EXPECT_EQ(eval("inputs.parameters.n", s), "3");
  // A text variable beside its own forms keeps its text (Argo's sprig.date over it works).
  s.set("workflow.creationTimestamp", "2026-04-29T10:00:00Z");
  s.set("workflow.creationTimestamp.Y", "2026");
  EXPECT_EQ(eval("workflow.creationTimestamp", s), "2026-04-29T10:00:00Z");
  EXPECT_EQ(eval("workflow.creationTimestamp.Y", s), "2026");
}

TEST(Eval, Functions) {
  EXPECT_EQ(eval("asFloat('1.5') * 2"), "3");
  EXPECT_EQ(eval("string(42) + '!'"), "42!");
  EXPECT_EQ(eval(R"(jsonpath('{"a":{"b":[5,6]}}', '$.a.b[1]'))"), "6");
  EXPECT_EQ(eval("toJson([1, 'a'])"), R"([1,"a"])");
  EXPECT_EQ(eval("sprig.upper('abc') + sprig.trim('  x ')"), "ABCx");
  EXPECT_EQ(eval("sprig.replace('a', 'b', 'banana')"), "bbnbnb");
  EXPECT_EQ(eval("sprig.join(',', sprig.splitList('-', 'a-b-c'))"), "a,b,c");
  EXPECT_EQ(eval("sprig.default('d', '')"), "d");
  EXPECT_EQ(eval("sprig.b64dec(sprig.b64enc('skiff'))"), "skiff");
  EXPECT_EQ(eval("filter([1, 2, 3, 4], # % 2 == 0)"), "[2,4]");
  // expr-lang's closure braces, as data templates write them; a map literal stays a map.
  EXPECT_EQ(eval("filter([1, 3], {# > 1})"), "[3]");
  EXPECT_EQ(eval("map(['a.log', 'b'], {# + '.gz'})"), "[\"a.log.gz\",\"b.gz\"]");
  EXPECT_EQ(eval("filter(['a.log', 'b'], {len(#) > 1 && # endsWith '.log'})"), "[\"a.log\"]");
  EXPECT_EQ(eval("{a: 1}.a"), "1");
  EXPECT_EQ(eval("len({})"), "0");
  EXPECT_EQ(eval("all(['a', 'b'], len(#) == 1)"), "true");
  EXPECT_EQ(eval("map([1, 2], # * 10)"), "[10,20]");
}

// A predicate may be a closure in braces, as expr writes them; a map literal inside one is
// still a map.
TEST(Eval, PredicatesInBraces) {
  EXPECT_EQ(eval("filter([1, 3], {# > 1})"), "[3]");
  EXPECT_EQ(eval("all([2, 4], { # % 2 == 0 })"), "true");
  EXPECT_EQ(eval("map([[1, 2], [3, 4]], {\n  toJson({\n    sum: #[0] + #[1],\n    first: #[0]\n  })\n})"),
            R"(["{\"first\":1,\"sum\":3}","{\"first\":3,\"sum\":7}"])");
  EXPECT_EQ(eval("sprig.add(1, 2, 3) + sprig.max(1, 5, 2) + sprig.min(4, 2, 9)"), "13");
  EXPECT_EQ(eval("toJson({a: 1})"), R"({"a":1})");  // a map literal where no predicate is
}

TEST(Eval, SprigDateTakesGoLayouts) {
  EXPECT_EQ(eval("sprig.date('2006', '2026-12-01T13:45:09Z')"), "2026");
  EXPECT_EQ(eval("sprig.date('2006-01-02 15:04:05 Mon Jan', '2026-12-01T13:45:09Z')"), "2026-12-01 13:45:09 Tue Dec");
  EXPECT_EQ(eval("sprig.date('15:04', '2026-12-01T13:45:09+02:00')"), "11:45");
  EXPECT_NE(eval("sprig.date('2006', 'yesterday')").find("is not a time"), std::string::npos);
}

TEST(Eval, BadInputIsAnErrorNotACrash) {
  EXPECT_NE(eval("1 +").find("ERROR"), std::string::npos);
  EXPECT_NE(eval("'unterminated").find("unterminated string"), std::string::npos);
  EXPECT_NE(eval("1 / 0").find("division by zero"), std::string::npos);
  EXPECT_NE(eval("nosuch(1)").find("unknown function"), std::string::npos);
  EXPECT_NE(eval(std::string(500, '(') + "1" + std::string(500, ')')).find("nested too deeply"), std::string::npos);
  EXPECT_NE(eval("9223372036854775807 + 1").find("overflow"), std::string::npos);
}

TEST(When, GovaluateStyle) {
  EXPECT_TRUE(*evaluate_when("heads == heads"));
  EXPECT_FALSE(*evaluate_when("tails == heads"));
  EXPECT_TRUE(*evaluate_when("5 > 3"));
  EXPECT_TRUE(*evaluate_when("10 > 9"));  // numbers, not strings
  EXPECT_TRUE(*evaluate_when("'a' != 'b' && (true || false)"));
  EXPECT_TRUE(*evaluate_when("feature-1 == feature-1"));
  EXPECT_TRUE(*evaluate_when("Succeeded != Failed"));
  EXPECT_TRUE(*evaluate_when("true"));
  EXPECT_TRUE(*evaluate_when("release-1.2 =~ '^release-'"));
  EXPECT_FALSE(evaluate_when("heads ==").is_ok());
}

}  // namespace skiff::expr
