#include "kube/api_error.h"

#include <gtest/gtest.h>

namespace skiff::kube {
namespace {

std::string status_body(int code, const std::string& reason, const std::string& message) {
  return R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":")" + message + R"(","reason":")" +
         reason + R"(","code":)" + std::to_string(code) + "}";
}

TEST(ApiError, KubernetesStatusBecomesTheInterfacesCodes) {
  Status s = api_error(409, status_body(409, "AlreadyExists", "configmaps \\\"x\\\" already exists"),
                       "create ConfigMap default/x");
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_EQ(s.message(), "create ConfigMap default/x: configmaps \"x\" already exists");
  EXPECT_EQ(api_error(409, status_body(409, "Conflict", "the object has been modified"), "c").code(), Code::kConflict);
  EXPECT_EQ(api_error(404, status_body(404, "NotFound", "nope"), "c").code(), Code::kNotFound);
  EXPECT_EQ(api_error(422, status_body(422, "Invalid", "bad"), "c").code(), Code::kInvalid);
  EXPECT_EQ(api_error(415, status_body(415, "UnsupportedMediaType", "no"), "c").code(), Code::kInvalid);
  EXPECT_EQ(api_error(500, status_body(500, "InternalError", "etcd"), "c").code(), Code::kUnavailable);
  EXPECT_EQ(api_error(429, status_body(429, "TooManyRequests", "slow down"), "c").code(), Code::kUnavailable);
}

TEST(ApiError, ForbiddenAndUnauthorizedSaySo) {
  Status s = api_error(403, status_body(403, "Forbidden", "configmaps is forbidden: User \\\"u\\\" cannot create"), "c");
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_EQ(s.message(), "c: configmaps is forbidden: User \"u\" cannot create");
  EXPECT_EQ(api_error(403, "", "c").message(), "c: forbidden: HTTP 403");
  Status u = api_error(401, status_body(401, "Unauthorized", "Unauthorized"), "get Pod a/b");
  EXPECT_EQ(u.code(), Code::kInvalid);
  EXPECT_NE(u.message().find("get Pod a/b: unauthorized"), std::string::npos) << u.message();
}

TEST(ApiError, ABodyThatIsNoStatusIsQuotedShort) {
  Status s = api_error(502, "<html>bad gateway</html>\n", "list Pod");
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.message(), "list Pod: HTTP 502 (<html>bad gateway</html>)");
  EXPECT_LT(api_error(400, std::string(100000, 'x'), "c").message().size(), 300u);
  EXPECT_EQ(api_error(400, "{\"kind\":\"Status\",\"code\":\"x\",\"message\":7}", "c").message(), "c: HTTP 400 ({\"kind\":\"Status\",\"code\":\"x\",\"message\":7})");
}

TEST(ApiError, RetriesAndRetryAfter) {
  for (int code : {429, 500, 502, 503, 504}) EXPECT_TRUE(is_retriable(code)) << code;
  for (int code : {400, 404, 409, 410, 422, 501}) EXPECT_FALSE(is_retriable(code)) << code;
  EXPECT_EQ(retry_after_ms("3"), 3000);
  EXPECT_EQ(retry_after_ms(""), -1);
  EXPECT_EQ(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
  EXPECT_EQ(retry_after_ms("99999999999"), -1);
}

}  // namespace
}  // namespace skiff::kube
