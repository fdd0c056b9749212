#include "kube/go_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

// Expected texts are what Go 1.2x's fmt.Print and encoding/json write (through kubectl).
namespace skiff::kube {
namespace {

using nlohmann::json;

TEST(GoText, FloatsAsFmtPrintsThem) {
  EXPECT_EQ(go_print_float(123456.5), "123456.5");
  EXPECT_EQ(go_print_float(1234567.5), "1.2345675e+06");
  EXPECT_EQ(go_print_float(1e20), "1e+20");
  EXPECT_EQ(go_print_float(1e21), "1e+21");
  EXPECT_EQ(go_print_float(0.0001), "0.0001");
  EXPECT_EQ(go_print_float(0.00001), "1e-05");
  EXPECT_EQ(go_print_float(1e8), "1e+08");
  EXPECT_EQ(go_print_float(123456789012.25), "1.2345678901225e+11");
  EXPECT_EQ(go_print_float(3.0), "3");
  EXPECT_EQ(go_print_float(-2.5), "-2.5");
  EXPECT_EQ(go_print_float(0.0), "0");
}

TEST(GoText, NumbersAreIntegersWhenKubernetesDecodesThemSo) {
  EXPECT_EQ(go_print(json::parse("42")), "42");
  EXPECT_EQ(go_print(json::parse("-7")), "-7");
  EXPECT_EQ(go_print(json::parse("2.0")), "2");
  EXPECT_EQ(go_print(json::parse("12345678901234567890")), "1.2345678901234567e+19");  // past int64: a float
  EXPECT_EQ(go_json(json::parse("12345678901234567890")), "12345678901234567000");
  EXPECT_EQ(go_print(json(nullptr)), "null");
  EXPECT_EQ(go_print(json("raw <text>")), "raw <text>");
}

TEST(GoText, JsonAsEncodingJsonWritesIt) {
  EXPECT_EQ(go_json(json::parse(R"({"b": [1, 2.5, null, true], "a": {"y": "z"}})")),
            R"({"a":{"y":"z"},"b":[1,2.5,null,true]})");
  EXPECT_EQ(go_json(json("a\bb\fc\x01" "d<e>&\xe2\x80\xa8\xe2\x80\xa9\"\\\n\t")),
            R"("a\bb\fc\u0001d\u003ce\u003e\u0026\u2028\u2029\"\\\n\t")");
  EXPECT_EQ(go_json(json::parse("1e21")), "1e+21");
  EXPECT_EQ(go_json(json::parse("1e-7")), "1e-7");
  EXPECT_EQ(go_json(json::parse("1e20")), "100000000000000000000");
  EXPECT_EQ(go_json(json::parse("0.000001")), "0.000001");
  EXPECT_EQ(go_json(json::parse("1234567.5")), "1234567.5");
  EXPECT_EQ(go_json(json("é")), "\"é\"");
}

}  // namespace
}  // namespace skiff::kube
