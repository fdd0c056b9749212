// End to end against a real git server (tests/git/gitserver.py: lighttpd + git http-backend,
// HTTPS from a test CA, basic auth; sshd with a key): ctest cd/git-https, fixture gitserver.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cd/chart.h"
#include "cd/git.h"
#include "cd/render.h"

namespace skiff::cd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

nlohmann::json g_env;
std::string g_dir, g_script;

std::string read(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class GitHttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/skiff-git-https-XXXXXX";
    cache_dir_ = mkdtemp(tmpl);
    url_ = g_env["url_base"].get<std::string>() + "/app.git";
    creds_.username = g_env["username"];
    creds_.password = g_env["password"];
    creds_.ca_pem = read(g_env["ca_file"]);
  }
  void TearDown() override { fs::remove_all(cache_dir_); }

  // Pushes a commit through the server (as a user would) and returns its sha.
  static std::string push(const std::string& args) {
    std::string cmd = "python3 " + g_script + " commit " + g_dir + " " + args;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[128];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << cmd;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::string cache_dir_, url_;
  RepoCredentials creds_;
};

TEST_F(GitHttpsTest, FetchesWithBasicAuthAndTheCa) {
  GitCache cache(cache_dir_);
  auto start = Clock::now();
  auto c = cache.checkout(url_, "main", creds_);
  double cold = ms_since(start);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_NE(read(c->dir + "/guestbook/cm.yaml").find("kind: ConfigMap"), std::string::npos);
  auto tag = cache.resolve(url_, "v1", creds_, false);
  ASSERT_TRUE(tag) << tag.status().message();

  start = Clock::now();
  auto warm = cache.resolve(url_, "main", creds_, /*fetch=*/false);
  double warm_ms = ms_since(start);
  start = Clock::now();
  auto refetched = cache.resolve(url_, "main", creds_);
  double refetch_ms = ms_since(start);
  ASSERT_TRUE(warm && refetched);
  EXPECT_EQ(*warm, c->commit);
  std::printf("figures: fetch+checkout (cold) %.1f ms, resolve without fetch %.3f ms, resolve with fetch %.1f ms\n",
              cold, warm_ms, refetch_ms);
}

TEST_F(GitHttpsTest, SeesAPushedCommitAfterFetch) {
  GitCache cache(cache_dir_);
  ASSERT_TRUE(cache.resolve(url_, "main", creds_));
  std::string sha = push("app guestbook/cm.yaml=changed");
  ASSERT_EQ(sha.size(), 40u);
  EXPECT_NE(*cache.resolve(url_, "main", creds_, false), sha);
  EXPECT_EQ(*cache.resolve(url_, "main", creds_), sha);
  std::string branch = push("app --branch feature-x f.txt=x");
  EXPECT_EQ(*cache.resolve(url_, "feature-x", creds_, false), branch);  // not cached yet: fetched
  auto c = cache.checkout(url_, "feature-x", creds_, false);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(read(c->dir + "/f.txt"), "x");
}

TEST_F(GitHttpsTest, RefusesWithoutCredentials) {
  GitCache cache(cache_dir_);
  RepoCredentials none;
  none.ca_pem = creds_.ca_pem;
  auto r = cache.resolve(url_, "main", none);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().message(), "fetching " + url_ +
                                       ": authentication required: give the repository's credentials (username and "
                                       "password or token, or an ssh private key)");
  RepoCredentials wrong = creds_;
  wrong.password = "nope";
  r = cache.resolve(url_, "main", wrong);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("authentication failed: the server refused the credentials"),
            std::string::npos)
      << r.status().message();
}

TEST_F(GitHttpsTest, RefusesAnUnknownCa) {
  GitCache cache(cache_dir_);
  RepoCredentials other = creds_;
  other.ca_pem = read(g_env["other_ca_file"]);
  auto r = cache.resolve(url_, "main", other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("the server's certificate is not signed by the given CA"), std::string::npos)
      << r.status().message();
  other.ca_pem.clear();
  r = cache.resolve(url_, "main", other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("not signed by a trusted CA: give the repository's CA certificate (ca_pem)"),
            std::string::npos)
      << r.status().message();
  other.insecure = true;
  r = cache.resolve(url_, "main", other);
  EXPECT_TRUE(r) << r.status().message();
}

TEST_F(GitHttpsTest, UnknownRevisionNamesTheRepository) {
  GitCache cache(cache_dir_);
  auto r = cache.resolve(url_, "v9", creds_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().message(), "revision \"v9\" not found in " + url_ + ": no such branch, tag or commit");
}

TEST_F(GitHttpsTest, FetchesOverSshWithAKey) {
  GitCache cache(cache_dir_);
  std::string url = g_env["ssh_url_base"].get<std::string>() + "/app.git";
  RepoCredentials key;
  key.ssh_private_key = read(g_env["ssh_key"]);
  key.insecure = true;  // the test sshd's host key is in no known_hosts
  auto c = cache.checkout(url, "v1", key);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_NE(read(c->dir + "/guestbook/cm.yaml").find("kind: ConfigMap"), std::string::npos);
  key.insecure = false;
  auto unknown_host = GitCache(cache_dir_ + "/strict").resolve(url, "main", key);
  ASSERT_FALSE(unknown_host);
  EXPECT_NE(unknown_host.status().message().find(
                ": the server's ssh host key is unknown or has changed: add it to ~/.ssh/known_hosts"),
            std::string::npos)
      << unknown_host.status().message();
  RepoCredentials none;
  none.insecure = true;
  auto r = GitCache(cache_dir_ + "/none").resolve(url, "main", none);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find(": authentication required: give the repository's credentials"),
            std::string::npos)
      << r.status().message();
}

// Helm charts from the same server's chart repository (gitserver.py: /charts, basic auth).
TEST_F(GitHttpsTest, PullsChartsFromAHelmRepository) {
  if (!find_tool("helm")) GTEST_SKIP() << "no helm: run scripts/cd-tools-build";
  ChartCache charts(cache_dir_ + "/charts");
  const std::string url = g_env["charts_url"];
  auto start = Clock::now();
  auto exact = charts.pull(url, "web", "0.1.0", creds_);
  double cold = ms_since(start);
  ASSERT_TRUE(exact) << exact.status().message();
  EXPECT_EQ(exact->commit, "0.1.0");
  EXPECT_NE(read(exact->dir + "/web/values.yaml").find("hello from 0.1.0"), std::string::npos);
  // An exact version, once pulled, needs no network (nor credentials).
  start = Clock::now();
  auto cached = charts.pull(url, "web", "0.1.0", RepoCredentials{});
  double warm = ms_since(start);
  ASSERT_TRUE(cached) << cached.status().message();
  EXPECT_EQ(cached->dir, exact->dir);
  std::printf("chart pull over HTTPS: cold %.0f ms, cached %.3f ms\n", cold, warm);

  // Constraints resolve to the newest matching version.
  auto newest = charts.pull(url, "web", "", creds_);
  ASSERT_TRUE(newest) << newest.status().message();
  EXPECT_EQ(newest->commit, "0.2.0");
  auto minor = charts.pull(url, "web", "0.1.*", creds_);
  ASSERT_TRUE(minor) << minor.status().message();
  EXPECT_EQ(minor->commit, "0.1.0");

  // Mistakes say what is wrong.
  RepoCredentials wrong = creds_;
  wrong.password = "nope";
  auto refused = charts.pull(url, "web", "0.2.*", wrong);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find("helm pull chart web from"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("401"), std::string::npos) << refused.status().message();
  auto missing = charts.pull(url, "web", "9.9.9", creds_);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("9.9.9"), std::string::npos) << missing.status().message();
  EXPECT_EQ(charts.pull(url, "../web", "", creds_).status().code(), Code::kInvalid);
  EXPECT_EQ(charts.pull("file:///etc", "web", "", creds_).status().code(), Code::kInvalid);

  // Rendered like a chart kept in git.
  RenderRequest request;
  request.source.repo_url = url;
  request.source.chart = "web";
  request.root = exact->dir;
  request.app_name = "shop";
  auto rendered = render(request);
  ASSERT_TRUE(rendered) << rendered.status().message();
  ASSERT_EQ(rendered->size(), 1u);
  EXPECT_EQ((*rendered)[0]["metadata"]["name"], "web-shop");
}

// The same chart from an OCI registry (tests/registry/registry.py: TLS from its own CA,
// basic auth), pushed there by helm as a user would; skipped without the registry fixture.
TEST_F(GitHttpsTest, PullsChartsFromAnOciRegistry) {
  const char* registry = std::getenv("SKIFF_TEST_REGISTRY");
  auto helm = find_tool("helm");
  if (!registry || !helm) GTEST_SKIP() << "no test registry (SKIFF_TEST_REGISTRY) or no helm";
  std::ifstream in(std::string(registry) + "/env.json");
  auto reg = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}), nullptr, false);
  ASSERT_TRUE(reg.is_object());
  const std::string host = reg["host"], user = reg["user"], password = reg["password"];
  const std::string ca = std::string(registry) + "/ca.pem";
  std::string push = "HOME=" + cache_dir_ + " " + *helm + " push " + g_dir + "/charts/web-0.2.0.tgz oci://" + host +
                     "/charts --username " + user + " --password " + password + " --ca-file " + ca + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(push.c_str()), 0) << push;

  ChartCache charts(cache_dir_ + "/oci");
  RepoCredentials creds;
  creds.username = user;
  creds.password = password;
  creds.ca_pem = read(ca);
  auto pulled = charts.pull(host + "/charts", "web", "0.2.0", creds);  // no scheme: OCI, as Argo CD writes it
  ASSERT_TRUE(pulled) << pulled.status().message();
  EXPECT_EQ(pulled->commit, "0.2.0");
  EXPECT_NE(read(pulled->dir + "/web/values.yaml").find("hello from 0.2.0"), std::string::npos);
  auto with_scheme = ChartCache(cache_dir_ + "/oci2").pull("oci://" + host + "/charts", "web", "0.2.0", creds);
  ASSERT_TRUE(with_scheme) << with_scheme.status().message();
  creds.password = "wrong";
  auto refused = ChartCache(cache_dir_ + "/oci3").pull(host + "/charts", "web", "0.2.0", creds);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find("helm pull chart web from " + host), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace skiff::cd

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* dir = std::getenv("SKIFF_TEST_GITSERVER");
  const char* script = std::getenv("SKIFF_GITSERVER_SCRIPT");
  std::ifstream in(std::string(dir ? dir : "") + "/env.json");
  if (!dir || !script || !in) {
    std::fprintf(stderr, "no test git server: run tests/git/gitserver.py start DIR and set SKIFF_TEST_GITSERVER\n");
    return 1;
  }
  skiff::cd::g_dir = dir;
  skiff::cd::g_script = script;
  skiff::cd::g_env = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}), nullptr, false);
  return RUN_ALL_TESTS();
}
