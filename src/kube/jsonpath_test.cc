#include "kube/jsonpath.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

// Every expected output below is what kubectl v1.37.2 printed for the same template over
// the same object (`kubectl create -f obj.json --dry-run=client -o jsonpath=...`).
namespace skiff::kube {
namespace {

using nlohmann::json;

const json kObject = json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap",
 "metadata": {"name": "pi", "namespace": "default", "labels": {"app": "pi", "tier": "web"}},
 "spec": {"containers": [{"name": "a", "image": "busybox:1", "ports": [{"containerPort": 80}, {"containerPort": 443}]},
                         {"name": "b", "image": "nginx:2", "ports": []},
                         {"name": "c", "image": "redis:3"}]},
 "status": {"phase": "Running", "succeeded": 1, "failed": 4, "ratio": 0.25, "whole": 2.0, "big": 1e20, "ok": true,
            "note": null, "html": "<a&b>",
            "conditions": [{"type": "Ready", "status": "True", "n": 3}, {"type": "Synced", "status": "False", "n": 7}]}})");

std::string run(const std::string& tmpl, const json& object = kObject, JsonPathOptions options = {}) {
  auto out = jsonpath(tmpl, object, options);
  EXPECT_TRUE(out.is_ok()) << tmpl << ": " << out.status().message();
  return out.is_ok() ? *out : "<error>";
}

std::string error_of(const std::string& tmpl, const json& object = kObject, JsonPathOptions options = {}) {
  auto out = jsonpath(tmpl, object, options);
  EXPECT_FALSE(out.is_ok()) << tmpl << " gave " << (out.is_ok() ? *out : "");
  return out.is_ok() ? "" : out.status().message();
}

TEST(JsonPath, ArgoDocumentedOutputs) {
  EXPECT_EQ(run("{.metadata.name}"), "pi");
  EXPECT_EQ(run("{.status.phase}"), "Running");
}

TEST(JsonPath, FieldsListsAndText) {
  EXPECT_EQ(run("{.spec.containers[*].name}"), "a b c");
  EXPECT_EQ(run("{.spec.containers[*].image}"), "busybox:1 nginx:2 redis:3");
  EXPECT_EQ(run("name: {.metadata.name}, ns: {.metadata.namespace}"), "name: pi, ns: default");
  EXPECT_EQ(run("plain text"), "plain text");
  EXPECT_EQ(run("{@.kind}"), "ConfigMap");
  EXPECT_EQ(run("{$.kind}"), "ConfigMap");
  EXPECT_EQ(run("{.metadata.labels.*}"), "pi web");
  EXPECT_EQ(run("{.spec.containers[0]['name','image']}"), "a busybox:1");
  EXPECT_EQ(run("{.spec.containers[0,2].name}"), "a c");
  EXPECT_EQ(run("{.spec.containers[*].ports[*].containerPort}"), "80 443");
  json dotted = {{"metadata", {{"annotations", {{"a.b/c", "yes"}}}}}};
  EXPECT_EQ(run("{.metadata.annotations.a\\.b/c}", dotted), "yes");
}

TEST(JsonPath, Ranges) {
  EXPECT_EQ(run("{range .spec.containers[*]}{.name}={.image}{\"\\n\"}{end}"), "a=busybox:1\nb=nginx:2\nc=redis:3\n");
  EXPECT_EQ(run("{range .spec.containers[*]}[{range .ports[*]}{.containerPort},{end}]{end}"), "[80,443,][][]");
  EXPECT_EQ(run("{range .spec.containers[*]}{.name}{end}!{.kind}"), "abc!ConfigMap");
  // Without {end}, the rest runs once per item, then once more over the object.
  EXPECT_EQ(run("{range .spec.containers[*]}{.name}-"), "a-b-c--");
  EXPECT_EQ(run("{range .spec.missing[*]}{.name}{end}x"), "x");
}

TEST(JsonPath, Filters) {
  EXPECT_EQ(run("{.status.conditions[?(@.type==\"Ready\")].status}"), "True");
  EXPECT_EQ(run("{.status.conditions[?(@.type=='Ready')].status}"), "True");
  EXPECT_EQ(run("{.status.conditions[?(@.n>5)].type}"), "Synced");
  EXPECT_EQ(run("{.status.conditions[?(@.n==3)].type}"), "Ready");
  EXPECT_EQ(run("{.status.conditions[?(@.n>=3)].type}"), "Ready Synced");
  EXPECT_EQ(run("{.status.conditions[?(@.n <= 3)].type}"), "Ready");
  EXPECT_EQ(run("{.status.conditions[?(@.type!=\"Ready\")].n}"), "7");
  EXPECT_EQ(run("{.spec.containers[?(@.ports)].name}"), "a b");
  EXPECT_EQ(run("{.spec.containers[?(@.missing==\"x\")].name}"), "");
  EXPECT_EQ(run("{.status.conditions[?(@.n==@.n)].type}"), "Ready Synced");
}

TEST(JsonPath, Slices) {
  EXPECT_EQ(run("{.spec.containers[0:2].name}"), "a b");
  EXPECT_EQ(run("{.spec.containers[::2].name}"), "a c");
  EXPECT_EQ(run("{.spec.containers[-1:].name}"), "c");
  EXPECT_EQ(run("{.spec.containers[-1].name}"), "c");
  EXPECT_EQ(run("{.spec.containers[1:1].name}"), "");
}

TEST(JsonPath, RecursiveDescent) {
  EXPECT_EQ(run("{..containerPort}"), "80 443");
  EXPECT_EQ(run("{.metadata..app}"), "pi");
}

TEST(JsonPath, ValuesPrintedAsKubectlPrintsThem) {
  EXPECT_EQ(run("{.status.succeeded} {.status.ratio} {.status.whole} {.status.big} {.status.ok} {.status.note}"),
            "1 0.25 2 1e+20 true null");
  EXPECT_EQ(run("{.status.html}"), "<a&b>");
  EXPECT_EQ(run("{.metadata.labels}"), R"({"app":"pi","tier":"web"})");
  EXPECT_EQ(run("{.status}"),
            R"({"big":100000000000000000000,"conditions":[{"n":3,"status":"True","type":"Ready"},)"
            R"({"n":7,"status":"False","type":"Synced"}],"failed":4,"html":"\u003ca\u0026b\u003e","note":null,)"
            R"("ok":true,"phase":"Running","ratio":0.25,"succeeded":1,"whole":2})");
  EXPECT_EQ(run("{.status.conditions[*]}"),
            R"({"n":3,"status":"True","type":"Ready"} {"n":7,"status":"False","type":"Synced"})");
  EXPECT_EQ(run("{.kind.*}"), "67 111 110 102 105 103 77 97 112");  // '*' over a string: its bytes
  EXPECT_EQ(run("{1}{1.5}{true}{-2}"), "11.5true-2");
  EXPECT_EQ(run("{.kind}{\"\\u00e9\\x41\\101\\t|\"}"), "ConfigMap\xc3\xa9" "AA\t|");
  EXPECT_EQ(run("{'a\\'b'}"), "a'b");
  EXPECT_EQ(run("{}"), run("{@}"));
}

TEST(JsonPath, MissingKeysPrintNothingAsKubectlDoesByDefault) {
  EXPECT_EQ(run("{.status.missing}"), "");
  EXPECT_EQ(run("{.status.ok.x}"), "");
  EXPECT_EQ(run("{.metadata.name}{.status.missing}"), "pi");
  EXPECT_EQ(run("{['metadata.name']}"), "pi");  // kubectl reads ['a.b'] as .a.b
}

TEST(JsonPath, MissingKeysAreErrorsWhenAsked) {
  JsonPathOptions strict;
  strict.allow_missing_keys = false;
  auto out = jsonpath("{.status.missing}", kObject, strict);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kFailed);
  EXPECT_EQ(out.status().message(), "error executing jsonpath \"{.status.missing}\": missing is not found");
  EXPECT_NE(error_of("{range .spec.containers[1].ports[*]}{.containerPort}{end}", kObject, strict)
                .find("containerPort is not found"),
            std::string::npos);
  EXPECT_EQ(run("{.spec.containers[?(@.ports)].name}", kObject, strict), "a b");
}

TEST(JsonPath, ExecutionErrorsAsKubectlReportsThem) {
  EXPECT_EQ(error_of("{.spec.containers[5].name}"),
            "error executing jsonpath \"{.spec.containers[5].name}\": array index out of bounds: index 5, length 3");
  EXPECT_NE(error_of("{.spec.containers[-5]}").find("index -2, length 3"), std::string::npos);
  EXPECT_NE(error_of("{.spec.containers[2:1]}").find("starting index 2 is greater than ending index 1"), std::string::npos);
  EXPECT_NE(error_of("{.spec.containers[0:1:0]}").find("step must be > 0"), std::string::npos);
  EXPECT_NE(error_of("{.status.conditions[?(@.n==3.0)].type}").find("incompatible types for comparison"),
            std::string::npos);
  EXPECT_NE(error_of("{.status.conditions[?(@.n<\"x\")].type}").find("incompatible types for comparison"),
            std::string::npos);
  EXPECT_NE(error_of("{.status.conditions[?(@.status==True)].type}").find("unrecognized identifier True"),
            std::string::npos);
  EXPECT_NE(error_of("{.spec.containers[0].name[0]}").find("string is not array or slice"), std::string::npos);
  EXPECT_NE(error_of("{.metadata[0]}").find("map[string]interface {} is not array or slice"), std::string::npos);
  EXPECT_NE(error_of("{end}").find("not in range, nothing to end"), std::string::npos);
  EXPECT_NE(error_of("{metadata.name}").find("unrecognized identifier metadata"), std::string::npos);
  EXPECT_NE(error_of("{.status.conditions[?(@.type=\"a\")]}").find("unrecognized filter operator ="), std::string::npos);
  EXPECT_NE(error_of("{.status.conditions[?(@.ok<true)]}", json{{"status", {{"conditions", {{{"ok", false}}}}}}})
                .find("invalid type for comparison"),
            std::string::npos);
}

TEST(JsonPath, ParseErrors) {
  auto out = jsonpath("{.metadata.name", kObject);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kInvalid);
  EXPECT_EQ(out.status().message(), "error parsing jsonpath \"{.metadata.name\": unclosed action");
  EXPECT_NE(error_of("{.spec.containers[x]}").find("invalid array index x"), std::string::npos);
  EXPECT_NE(error_of("{.a[0}").find("unterminated array"), std::string::npos);
  EXPECT_NE(error_of("{.a[?(@.b==\"x\"}").find("unterminated filter"), std::string::npos);
  EXPECT_NE(error_of("{.a[?(@.b==1)}").find("unclosed array expect ]"), std::string::npos);
  EXPECT_NE(error_of("{\"abc}").find("unterminated quoted string"), std::string::npos);
  EXPECT_NE(error_of("{\"a\\'b\"}").find("invalid syntax"), std::string::npos);
  EXPECT_NE(error_of("{.a[?(@.s=~\"a\")]}").find("unrecognized character in action: U+007E '~'"), std::string::npos);
  EXPECT_NE(error_of("{....a}").find("invalid multiple recursive descent"), std::string::npos);
  EXPECT_NE(error_of("{1.2.3}").find("cannot parse number 1.2.3"), std::string::npos);
  EXPECT_NE(error_of("{.a[-]}").find("array index - is not a number"), std::string::npos);
  EXPECT_TRUE(check_jsonpath("{range .items[*]}{.metadata.name}{\"\\n\"}{end}").is_ok());
  EXPECT_EQ(check_jsonpath("{.a").code(), Code::kInvalid);
}

TEST(JsonPath, BoundedWork) {
  EXPECT_NE(error_of(std::string(17 * 1024, 'x')).find("at most 16384 are allowed"), std::string::npos);
  std::string nested;
  for (int i = 0; i < 70; ++i) nested += "{range}";
  EXPECT_NE(error_of(nested).find("ranges nested more than 64 deep"), std::string::npos);
  // Ranges without {end} run the rest of the template once per item and once more over
  // the current value: 30 of them over a chain 40 deep is 2^30 walks without a bound.
  json chain = 1;
  for (int i = 0; i < 40; ++i) chain = json{{"d", chain}};
  std::string blowup;
  for (int i = 0; i < 30; ++i) blowup += "{range .*}";
  EXPECT_NE(error_of(blowup + "{.}", chain).find("visits more than 1000000 values"), std::string::npos);
  // A deep object: '..' walks it without recursion.
  json deep = {{"x", "leaf"}};
  for (int i = 0; i < 500; ++i) deep = json{{"d", deep}};
  EXPECT_EQ(run("{..x}", deep), "leaf");
  JsonPathOptions small;
  small.max_output = 10;
  EXPECT_NE(error_of("{.spec.containers[*].image}", kObject, small).find("larger than 10 bytes"), std::string::npos);
}

}  // namespace
}  // namespace skiff::kube
