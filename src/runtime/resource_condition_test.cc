#include "runtime/resource_condition.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace skiff::runtime {
namespace {

using nlohmann::json;

const json kJob = json::parse(R"({
  "metadata": {"name": "pi", "labels": {"app": "pi"}},
  "status": {"succeeded": 1, "failed": 4, "active": 0, "phase": "Running", "ready": true,
             "note": null, "ratio": 1.50, "whole": 2.0, "big": 1e3, "text": "12",
             "conditions": [{"type": "Complete", "status": "True"}, {"type": "Failed", "status": "False"}],
             "health": {"status": "Healthy"}, "list": [1, "a"], "map": {"b": 1, "a": [true]}}
})");

Condition parse_ok(const std::string& text) {
  auto c = Condition::parse(text, "successCondition");
  EXPECT_TRUE(c.is_ok()) << text << ": " << c.status().message();
  return c.is_ok() ? *c : Condition();
}

bool met(const std::string& text, const json& object = kJob) { return parse_ok(text).all_match(object); }

std::string parse_error(const std::string& text, const std::string& what = "successCondition") {
  auto c = Condition::parse(text, what);
  EXPECT_FALSE(c.is_ok()) << text;
  if (c.is_ok()) return "";
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  return c.status().message();
}

TEST(ResourceCondition, ArgoDocumentedExamples) {
  EXPECT_TRUE(met("status.succeeded > 0"));
  EXPECT_TRUE(met("status.failed > 3"));
  EXPECT_FALSE(met("status.failed > 4"));
  EXPECT_TRUE(met("status.health.status == Healthy"));
  EXPECT_FALSE(met("status.phase in (Failed, Error)"));
  json failed = kJob;
  failed["status"]["phase"] = "Error";
  EXPECT_TRUE(met("status.phase in (Failed, Error)", failed));
}

TEST(ResourceCondition, EqualityOperators) {
  EXPECT_TRUE(met("status.phase=Running"));
  EXPECT_TRUE(met("status.phase==Running"));
  EXPECT_FALSE(met("status.phase == running"));  // case matters
  EXPECT_TRUE(met("status.phase != Failed"));
  EXPECT_FALSE(met("status.phase != Running"));
  EXPECT_FALSE(met("status.missing == x"));  // absent: = does not match
  EXPECT_TRUE(met("status.missing != x"));   // absent: != matches
}

TEST(ResourceCondition, SetOperators) {
  EXPECT_TRUE(met("status.phase in (Pending,Running)"));
  EXPECT_TRUE(met("status.phase notin (Failed, Error)"));
  EXPECT_FALSE(met("status.phase notin (Running)"));
  EXPECT_FALSE(met("status.missing in (a, b)"));
  EXPECT_TRUE(met("status.missing notin (a, b)"));
  // "in" and "notin" are plain words in a value list.
  json o = {{"mode", "in"}};
  EXPECT_TRUE(met("mode in (in, notin)", o));
}

TEST(ResourceCondition, ExistenceOperators) {
  EXPECT_TRUE(met("status.succeeded"));
  EXPECT_TRUE(met("!status.missing"));
  EXPECT_FALSE(met("!status.succeeded"));
  EXPECT_FALSE(met("status.missing"));
  EXPECT_TRUE(met("status.note"));  // null is present (gjson's Exists)
  EXPECT_TRUE(met("status.note == "));  // and reads as ""
}

TEST(ResourceCondition, IntegerComparison) {
  EXPECT_TRUE(met("status.active < 1"));
  EXPECT_FALSE(met("status.active > 0"));
  EXPECT_TRUE(met("status.text > 11"));       // a string holding an integer compares
  EXPECT_FALSE(met("status.ratio > 1"));      // 1.5 is not an integer: no match
  EXPECT_FALSE(met("status.phase > 1"));
  EXPECT_FALSE(met("status.missing < 100"));  // absent: no match either way
  EXPECT_TRUE(met("status.succeeded > 0, status.failed < 5"));
}

TEST(ResourceCondition, ArrayIndexesAndNesting) {
  EXPECT_TRUE(met("status.conditions.0.type == Complete"));
  EXPECT_TRUE(met("status.conditions.1.status == False"));
  EXPECT_TRUE(met("!status.conditions.2.type"));
  EXPECT_FALSE(met("status.conditions.first.type"));  // a word does not index an array
  EXPECT_TRUE(met("metadata.labels.app = pi"));
}

TEST(ResourceCondition, ValuesAsGjsonRendersThem) {
  std::string v;
  ASSERT_TRUE(gjson_lookup(kJob, "status.ready", &v));
  EXPECT_EQ(v, "true");
  ASSERT_TRUE(gjson_lookup(kJob, "status.ratio", &v));
  EXPECT_EQ(v, "1.5");
  ASSERT_TRUE(gjson_lookup(kJob, "status.whole", &v));
  EXPECT_EQ(v, "2");
  ASSERT_TRUE(gjson_lookup(kJob, "status.big", &v));
  EXPECT_EQ(v, "1000");
  ASSERT_TRUE(gjson_lookup(kJob, "status.list", &v));
  EXPECT_EQ(v, R"m([1,"a"])m");
  ASSERT_TRUE(gjson_lookup(kJob, "status.map", &v));
  EXPECT_EQ(v, R"m({"a":[true],"b":1})m");
  ASSERT_TRUE(gjson_lookup(kJob, "status.conditions.01.type", &v));  // gjson: "01" is index 1
  EXPECT_EQ(v, "Failed");
  json dotted = {{"metadata", {{"annotations", {{"a.b/c", "yes"}}}}}};
  ASSERT_TRUE(gjson_lookup(dotted, "metadata.annotations.a\\.b/c", &v));
  EXPECT_EQ(v, "yes");
  EXPECT_FALSE(gjson_lookup(kJob, "status.conditions.99999999999999999999999.type", &v));
  EXPECT_FALSE(gjson_lookup(kJob, "status.phase.x", &v));
  EXPECT_TRUE(met("status.ready == true"));
  EXPECT_TRUE(met("status.whole = 2"));
}

TEST(ResourceCondition, FailureConditionMatchesOnAnyRequirement) {
  auto c = Condition::parse("status.failed > 3, status.phase == Failed", "failureCondition");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_FALSE(c->all_match(kJob));
  std::string which;
  EXPECT_TRUE(c->any_matches(kJob, &which));
  EXPECT_EQ(which, R"m(status.failed>3 (is "4"))m");
  auto none = Condition::parse("status.phase == Failed", "failureCondition");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->any_matches(kJob, &which));
}

TEST(ResourceCondition, OutcomesInKubernetesOrder) {
  Condition c = parse_ok("status.phase in (Succeeded, Failed), metadata.name, !status.x, status.active<1");
  ASSERT_EQ(c.requirements().size(), 4u);
  auto outcomes = c.evaluate(kJob);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].detail, R"m(metadata.name (is "pi"))m");
  EXPECT_TRUE(outcomes[0].matched);
  EXPECT_EQ(outcomes[1].detail, R"m(status.active<1 (is "0"))m");
  EXPECT_EQ(outcomes[2].detail, R"m(status.phase in (Failed,Succeeded) (is "Running"))m");
  EXPECT_FALSE(outcomes[2].matched);
  EXPECT_EQ(outcomes[3].detail, "!status.x (absent)");
  EXPECT_EQ(c.text(), "status.phase in (Succeeded, Failed), metadata.name, !status.x, status.active<1");
}

TEST(ResourceCondition, EmptyValuesAndLists) {
  json o = {{"a", ""}, {"b", "x"}};
  EXPECT_TRUE(met("a=", o));
  EXPECT_TRUE(met("a in ()", o));
  EXPECT_TRUE(met("a in (x,)", o));
  EXPECT_TRUE(met("a in (,x)", o));
  EXPECT_TRUE(met("b in (y,,x)", o));
  EXPECT_EQ(parse_ok("a in (b, a, b)").requirements()[0].values, (std::vector<std::string>{"a", "b"}));
}

TEST(ResourceCondition, EmptyConditionHasNoRequirement) {
  Condition c = parse_ok("   ");
  EXPECT_TRUE(c.requirements().empty());
  EXPECT_TRUE(c.all_match(kJob));
  EXPECT_FALSE(c.any_matches(kJob));
}

TEST(ResourceCondition, SyntaxErrorsSayWhereAndWhat) {
  EXPECT_EQ(parse_error("x in ("),
            R"m(successCondition "x in (": expected a value, ',' or ')' at column 7, found the end)m");
  EXPECT_EQ(parse_error("status.phase Running", "failureCondition"),
            "failureCondition \"status.phase Running\": expected an operator (=, ==, !=, in, notin, >, <) after key "
            "\"status.phase\" at column 14, found 'Running'");
  EXPECT_EQ(parse_error("a=b,"), R"m(successCondition "a=b,": expected a key or '!' after ',' at column 5, found the end)m");
  EXPECT_EQ(parse_error(",a"), R"m(successCondition ",a": expected a key or '!' at column 1, found ',')m");
  EXPECT_EQ(parse_error("a=b c"), R"m(successCondition "a=b c": expected ',' or the end of the condition at column 5, found 'c')m");
  EXPECT_EQ(parse_error("!a=b"), R"m(successCondition "!a=b": expected ',' or the end of the condition at column 3, found '=')m");
  EXPECT_EQ(parse_error("a in b"), R"m(successCondition "a in b": expected '(' to start the list of values at column 6, found 'b')m");
  EXPECT_EQ(parse_error("a in (b c)"), R"m(successCondition "a in (b c)": expected ',' or ')' at column 9, found 'c')m");
  EXPECT_EQ(parse_error("a in (b,,)"), R"m(successCondition "a in (b,,)": expected a value or ',' at column 10, found ')')m");
  EXPECT_EQ(parse_error("a == (b)"), R"m(successCondition "a == (b)": expected a value at column 6, found '(')m");
  EXPECT_EQ(parse_error("!"), R"m(successCondition "!": expected a key at column 2, found the end)m");
  EXPECT_EQ(parse_error("a <= 3"), R"m(successCondition "a <= 3": expected a value at column 4, found '=')m");
}

TEST(ResourceCondition, KeysAndValuesCheckedAsKubernetesDoes) {
  EXPECT_EQ(parse_error("status.failed > 1.5"),
            R"m(successCondition "status.failed > 1.5": "1.5" at column 17: '>' and '<' compare integers: the value must be an integer)m");
  EXPECT_NE(parse_error("a > x").find("must be an integer"), std::string::npos);
  EXPECT_NE(parse_error("a > -1").find("must start and end with a letter or digit"), std::string::npos);
  EXPECT_NE(parse_error("status.phase == Fa:iled").find("\"Fa:iled\" at column 17: a value may hold only"), std::string::npos);
  EXPECT_NE(parse_error("a == " + std::string(64, 'v')).find("at most 63 characters"), std::string::npos);
  EXPECT_NE(parse_error("status.items.#.name").find("\"status.items.#.name\" at column 1: a key may hold only"),
            std::string::npos);
  EXPECT_NE(parse_error(".status").find("must start and end with a letter or digit"), std::string::npos);
  EXPECT_NE(parse_error(std::string(64, 'k')).find("at most 63 characters"), std::string::npos);
  EXPECT_NE(parse_error("a/b/c").find("at most one '/'"), std::string::npos);
  EXPECT_NE(parse_error("Example.com/x").find("lowercase DNS subdomain"), std::string::npos);
  EXPECT_NE(parse_error("/x").find("prefix before '/' is empty"), std::string::npos);
  EXPECT_NE(parse_error("x/").find("empty after '/'"), std::string::npos);
  EXPECT_NE(parse_error("a\\.b == c").find("a key may hold only"), std::string::npos);  // Kubernetes refuses '\'
  EXPECT_EQ(parse_ok("example.com/x == 1").requirements().size(), 1u);
  EXPECT_NE(parse_error("status.failed > +3").find("\"+3\" at column 17"), std::string::npos);
}

TEST(ResourceCondition, LongConditionsAreRefused) {
  std::string text;
  while (text.size() <= 8192) text += "status.phase!=Failed,";
  text += "a";
  EXPECT_NE(parse_error(text).find("bytes long; at most 8192 are allowed"), std::string::npos);
  // Many short requirements within the bound parse and evaluate.
  std::string many = "a";
  for (int i = 0; i < 1000; ++i) many += ",b" + std::to_string(i) + "!=x";
  EXPECT_EQ(parse_ok(many).requirements().size(), 1001u);
}

}  // namespace
}  // namespace skiff::runtime
