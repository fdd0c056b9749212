#include "server/webhook.h"

#include <gtest/gtest.h>

#include <map>

namespace skiff::server {
namespace {

constexpr size_t kMax = 1 << 20;

struct Request {
  std::map<std::string, std::string> headers;
  std::string body;
  Webhook parse(const WebhookSecrets& secrets = {}, size_t max = kMax) const {
    auto header = [this](const std::string& name) {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    };
    return parse_webhook(header, body, secrets, max);
  }
};

const char* kGitHubPush = R"({"ref": "refs/heads/main", "after": "abc",
  "repository": {"html_url": "https://github.com/org/repo", "clone_url": "https://github.com/org/repo.git",
                 "ssh_url": "git@github.com:org/repo.git", "default_branch": "main"}})";

TEST(WebhookTest, GitHubPushUnsignedWithoutSecret) {
  Webhook w = Request{{{"X-GitHub-Event", "push"}}, kGitHubPush}.parse();
  ASSERT_EQ(w.http_status, 200) << w.error;
  EXPECT_EQ(w.provider, "github");
  EXPECT_EQ(w.push.revision, "main");
  EXPECT_TRUE(w.push.touched_head);
  EXPECT_EQ(w.push.repo_urls.size(), 3u);
}

TEST(WebhookTest, GitHubSignatureChecked) {
  WebhookSecrets secrets{"s3cret", "", ""};
  std::string good = "sha256=" + hmac_sha256_hex("s3cret", kGitHubPush);
  EXPECT_EQ(Request({{{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", good}}, kGitHubPush}).parse(secrets).http_status, 200);
  Webhook missing = Request{{{"X-GitHub-Event", "push"}}, kGitHubPush}.parse(secrets);
  EXPECT_EQ(missing.http_status, 400);
  EXPECT_NE(missing.error.find("missing X-Hub-Signature-256"), std::string::npos) << missing.error;
  std::string bad = "sha256=" + hmac_sha256_hex("other", kGitHubPush);
  Webhook wrong = Request{{{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", bad}}, kGitHubPush}.parse(secrets);
  EXPECT_EQ(wrong.http_status, 401);
  EXPECT_NE(wrong.error.find("does not match webhook.github.secret"), std::string::npos) << wrong.error;
  // The signature covers the body: the same signature over another body fails.
  std::string other_body = std::string(kGitHubPush) + " ";
  EXPECT_EQ(Request({{{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", good}}, other_body}).parse(secrets).http_status, 401);
}

TEST(WebhookTest, HmacMatchesKnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookTest, GitLabTokenAndPayload) {
  std::string body = R"({"object_kind": "push", "ref": "refs/tags/v1.2",
    "project": {"web_url": "https://gitlab.example.com/g/p", "git_http_url": "https://gitlab.example.com/g/p.git",
                "git_ssh_url": "git@gitlab.example.com:g/p.git", "default_branch": "main"}})";
  WebhookSecrets secrets{"", "tok", ""};
  Webhook ok = Request{{{"X-Gitlab-Event", "Tag Push Hook"}, {"X-Gitlab-Token", "tok"}}, body}.parse(secrets);
  ASSERT_EQ(ok.http_status, 200) << ok.error;
  EXPECT_EQ(ok.provider, "gitlab");
  EXPECT_EQ(ok.push.revision, "v1.2");
  EXPECT_FALSE(ok.push.touched_head);
  EXPECT_EQ(Request({{{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "toK"}}, body}).parse(secrets).http_status, 401);
  EXPECT_EQ(Request({{{"X-Gitlab-Event", "Push Hook"}}, body}).parse(secrets).http_status, 400);
}

TEST(WebhookTest, GiteaDecidedByItsOwnHeaderAndSignedWithTheGogsSecret) {
  std::string body = R"({"ref": "refs/heads/dev", "repository": {"html_url": "https://gitea.local/o/r",
    "clone_url": "https://gitea.local/o/r.git", "default_branch": "main"}})";
  WebhookSecrets secrets{"github-secret", "", "gogs-secret"};
  std::string sig = hmac_sha256_hex("gogs-secret", body);
  // Gitea sends X-GitHub-Event too, and a GitHub-style signature: the Gitea header decides.
  Webhook w = Request{{{"X-Gitea-Event", "push"}, {"X-Gogs-Event", "push"}, {"X-GitHub-Event", "push"},
                       {"X-Gitea-Signature", sig}}, body}.parse(secrets);
  ASSERT_EQ(w.http_status, 200) << w.error;
  EXPECT_EQ(w.provider, "gitea");
  EXPECT_EQ(w.push.revision, "dev");
  EXPECT_FALSE(w.push.touched_head);
  Webhook gogs = Request{{{"X-Gogs-Event", "push"}, {"X-Gogs-Signature", sig}}, body}.parse(secrets);
  EXPECT_EQ(gogs.provider, "gogs");
  EXPECT_EQ(gogs.http_status, 200) << gogs.error;
  EXPECT_EQ(Request({{{"X-Gitea-Event", "push"}, {"X-Gitea-Signature", std::string(64, '0')}}, body}).parse(secrets).http_status, 401);
}

TEST(WebhookTest, BadRequestsSayWhy) {
  auto error = [](Request r, int status) {
    Webhook w = r.parse({}, 64 * 1024);
    EXPECT_EQ(w.http_status, status) << w.error;
    EXPECT_FALSE(w.error.empty());
    return w.error;
  };
  EXPECT_NE(error({{}, kGitHubPush}, 400).find("unknown webhook event"), std::string::npos);
  EXPECT_NE(error({{{"X-GitHub-Event", "issues"}}, kGitHubPush}, 400).find("not handled"), std::string::npos);
  EXPECT_NE(error({{{"X-GitHub-Event", "push"}}, "{not json"}, 400).find("not a JSON object"), std::string::npos);
  EXPECT_NE(error({{{"X-GitHub-Event", "push"}}, "[1, 2]"}, 400).find("not a JSON object"), std::string::npos);
  EXPECT_NE(error({{{"X-GitHub-Event", "push"}}, R"({"ref": 5, "repository": {}})"}, 400).find("\"ref\""), std::string::npos);
  EXPECT_NE(error({{{"X-GitHub-Event", "push"}}, R"({"ref": "refs/heads/x", "repository": "r"})"}, 400).find("\"repository\""),
            std::string::npos);
  EXPECT_NE(error({{{"X-GitHub-Event", "push"}}, R"({"ref": "refs/heads/x", "repository": {"html_url": 7}})"}, 400)
                .find("names no URL"),
            std::string::npos);
  EXPECT_NE(error({{{"X-GitHub-Event", "push"}}, std::string(100 * 1024, ' ')}, 413).find("larger than"), std::string::npos);
  std::string deep = std::string(5000, '[') + std::string(5000, ']');  // deeper than kMaxJsonDepth
  EXPECT_NE(error({{{"X-GitHub-Event", "push"}}, deep}, 400).find("not a JSON object"), std::string::npos);
}

TEST(WebhookTest, PingChangesNothing) {
  Webhook w = Request{{{"X-GitHub-Event", "ping"}}, R"({"zen": "hi"})"}.parse();
  EXPECT_EQ(w.http_status, 200);
  EXPECT_TRUE(w.ping);
  EXPECT_TRUE(w.push.repo_urls.empty());
}

TEST(WebhookTest, WhichSourcesAPushRefreshes) {
  PushEvent push{{"https://github.com/org/repo"}, "main", true};
  EXPECT_TRUE(push_refreshes(push, "git@github.com:org/repo.git", "main"));
  EXPECT_TRUE(push_refreshes(push, "https://GITHUB.com/org/repo/", "refs/heads/main"));
  EXPECT_TRUE(push_refreshes(push, "https://github.com/org/repo", "HEAD"));
  EXPECT_TRUE(push_refreshes(push, "https://github.com/org/repo", ""));
  EXPECT_FALSE(push_refreshes(push, "https://github.com/org/repo", "dev"));
  EXPECT_FALSE(push_refreshes(push, "https://github.com/org/repo", "0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(push_refreshes(push, "https://github.com/org/other", "main"));
  PushEvent branch{{"https://github.com/org/repo"}, "dev", false};
  EXPECT_TRUE(push_refreshes(branch, "https://github.com/org/repo", "dev"));
  EXPECT_FALSE(push_refreshes(branch, "https://github.com/org/repo", "HEAD"));
}

}  // namespace
}  // namespace skiff::server
