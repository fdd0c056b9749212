#include "expr/template.h"

#include <gtest/gtest.h>

namespace skiff::expr {

TEST(Substitute, ReplacesNamesWithOptionalSpaces) {
  Scope s;
  s.set("inputs.parameters.x", "1");
  s.set("workflow.name", "wf");
  auto r = substitute("a={{inputs.parameters.x}} b={{ workflow.name }}", s);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*r, "a=1 b=wf");
}

TEST(Substitute, UnresolvedIsAnErrorUnlessAllowed) {
  Scope s;
  auto r = substitute("x {{tasks.a.outputs.result}}", s);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("{{tasks.a.outputs.result}}"), std::string::npos);
  SubstituteOptions o;
  o.allow_unresolved = true;
  EXPECT_EQ(*substitute("x {{tasks.a.outputs.result}}", s, o), "x {{tasks.a.outputs.result}}");
}

TEST(Substitute, ExpressionsAndUnclosedTags) {
  Scope s;
  s.set("inputs.parameters.n", "4");
  EXPECT_EQ(*substitute("{{=asInt(inputs.parameters.n) + 1}}", s), "5");
  EXPECT_EQ(*substitute("{{= inputs.parameters.n == '4' ? 'yes' : 'no' }}", s), "yes");
  EXPECT_EQ(*substitute("open {{ never closed", s), "open {{ never closed");
}

TEST(Substitute, ParentScopes) {
  Scope parent;
  parent.set("workflow.name", "wf");
  Scope child(&parent);
  child.set("item", "a");
  EXPECT_EQ(*substitute("{{workflow.name}}-{{item}}", child), "wf-a");
}

TEST(References, ListsPlainAndExpressionTags) {
  auto refs = references("{{a.b}} and {{= c.d + 1 }}");
  ASSERT_TRUE(refs.is_ok());
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].text, "a.b");
  EXPECT_TRUE((*refs)[1].is_expression);
  EXPECT_EQ((*refs)[1].text, "c.d + 1");
  auto vars = expression_variables("asInt(inputs.parameters.n) + tasks['my-task'].outputs.result");
  ASSERT_TRUE(vars.is_ok());
  EXPECT_EQ((*vars)[0], "inputs.parameters.n");
}

}  // namespace skiff::expr
