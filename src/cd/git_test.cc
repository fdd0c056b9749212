#include "cd/git.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "cd/git_tree.h"

namespace skiff::cd {
namespace {

namespace fs = std::filesystem;

// A scratch directory with a source repository made by the `git` program.
class GitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/skiff-git-test-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    url_ = "file://" + src_;
    git("init -q -b main " + src_);
    write("app/config.yaml", "replicas: 1\n");
    commit("first");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string git(const std::string& args) {
    std::string dir = fs::exists(src_) ? src_ : root_;
    std::string cmd = "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main -C " + dir + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << cmd << ": " << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  void write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(src_ + "/" + path).parent_path());
    std::ofstream(src_ + "/" + path) << text;
  }
  std::string commit(const std::string& message) {
    git("add -A");
    git("commit -q -m " + message);
    return git("rev-parse HEAD");
  }
  static std::string read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  std::string root_, src_, url_;
  RepoCredentials none_;
};

TEST_F(GitTest, ResolvesBranchesTagsShasAndHead) {
  std::string first = git("rev-parse HEAD");
  git("tag light");
  git("tag -a annotated -m release");
  git("checkout -q -b feature");
  write("app/extra.yaml", "x: 1\n");
  std::string second = commit("second");
  git("checkout -q main");

  GitCache cache(root_ + "/cache");
  EXPECT_EQ(*cache.resolve(url_, "main", none_), first);
  EXPECT_EQ(*cache.resolve(url_, "feature", none_), second);
  EXPECT_EQ(*cache.resolve(url_, "refs/heads/feature", none_), second);
  EXPECT_EQ(*cache.resolve(url_, "light", none_), first);
  EXPECT_EQ(*cache.resolve(url_, "annotated", none_), first);  // peeled to the commit
  EXPECT_EQ(*cache.resolve(url_, second, none_), second);
  EXPECT_EQ(*cache.resolve(url_, second.substr(0, 7), none_), second);
  EXPECT_EQ(*cache.resolve(url_, "HEAD", none_), first);
  EXPECT_EQ(*cache.resolve(url_, "", none_), first);
  EXPECT_EQ(*cache.resolve(src_, "feature", none_), second);  // a plain local path
}

TEST_F(GitTest, DefaultBranchIsTheRemotes) {
  git("checkout -q -b trunk");
  write("t", "t");
  std::string trunk = commit("trunk");
  GitCache cache(root_ + "/cache");
  EXPECT_EQ(*cache.resolve(url_, "", none_), trunk);
}

TEST_F(GitTest, NewCommitSeenAfterFetchOnly) {
  GitCache cache(root_ + "/cache");
  std::string first = *cache.resolve(url_, "main", none_);
  write("app/config.yaml", "replicas: 2\n");
  std::string second = commit("second");
  EXPECT_EQ(*cache.resolve(url_, "main", none_, /*fetch=*/false), first);
  EXPECT_EQ(*cache.resolve(url_, second, none_, /*fetch=*/false), second);  // unknown: fetched
  EXPECT_EQ(*cache.resolve(url_, "main", none_, /*fetch=*/false), second);
  write("app/config.yaml", "replicas: 3\n");
  std::string third = commit("third");
  EXPECT_EQ(*cache.resolve(url_, "main", none_), third);
}

// checkout_since: one fetch serves every caller until it is older than they accept, or
// until invalidate() names the repository (by any URL of it).
TEST_F(GitTest, CheckoutSinceSharesAFetchUntilTooOldOrInvalidated) {
  int64_t now = 1000;
  GitCache cache(root_ + "/cache", {}, [&now] { return now; });
  std::string first = cache.checkout_since(url_, "main", none_, 0)->commit;  // first use: fetches
  write("app/config.yaml", "replicas: 2\n");
  std::string second = commit("second");
  now = 2000;
  EXPECT_EQ(cache.checkout_since(url_, "main", none_, 1000)->commit, first);  // fetched at 1000: fresh enough
  EXPECT_EQ(cache.checkout_since(url_, "main", none_, 1001)->commit, second);  // too old: fetched at 2000
  write("app/config.yaml", "replicas: 3\n");
  std::string third = commit("third");
  EXPECT_EQ(cache.checkout_since(url_, "main", none_, 0)->commit, second);
  cache.invalidate(src_ + ".git/");  // another spelling of the same repository
  EXPECT_EQ(cache.checkout_since(url_, "main", none_, 0)->commit, third);
  cache.invalidate("file:///elsewhere/repo");
  write("app/config.yaml", "replicas: 4\n");
  commit("fourth");
  EXPECT_EQ(cache.checkout_since(url_, "main", none_, 0)->commit, third);
}

TEST_F(GitTest, ACacheLeftByAnotherProcessIsUsedWithoutFetching) {
  std::string first = *GitCache(root_ + "/cache").resolve(url_, "main", none_);
  write("app/config.yaml", "replicas: 2\n");
  std::string second = commit("second");
  GitCache again(root_ + "/cache");
  EXPECT_EQ(*again.resolve(url_, "main", none_, /*fetch=*/false), first);
  EXPECT_EQ(*again.resolve(url_, "main", none_), second);
}

TEST_F(GitTest, UnknownRevisionSaysWhat) {
  GitCache cache(root_ + "/cache");
  auto r = cache.resolve(url_, "v9", none_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "revision \"v9\" not found in " + url_ + ": no such branch, tag or commit");
  auto missing = cache.resolve("file://" + root_ + "/nothing", "main", none_);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("fetching file://" + root_ + "/nothing: "), std::string::npos)
      << missing.status().message();
}

TEST_F(GitTest, FetchPastTheDeadlineIsAborted) {
  GitLimits limits;
  limits.fetch_timeout = std::chrono::seconds(0);
  GitCache cache(root_ + "/cache", limits);
  auto r = cache.resolve(url_, "main", none_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), Code::kDeadline);
  EXPECT_EQ(r.status().message(), "fetching " + url_ +
                                      ": timed out after 0 s: the server is slow or the repository too large");
}

TEST_F(GitTest, ASilentServerIsBoundedByTheDeadline) {
  // Accepts connections (the kernel does, from the backlog) and never answers.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  GitLimits limits;
  limits.fetch_timeout = std::chrono::seconds(1);
  GitCache cache(root_ + "/cache", limits);
  for (const char* scheme : {"http", "https"}) {
    std::string url = fmt::format("{}://127.0.0.1:{}/repo.git", scheme, ntohs(addr.sin_port));
    auto r = cache.resolve(url, "main", none_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status().code(), Code::kDeadline) << r.status().message();
    EXPECT_EQ(r.status().message(),
              "fetching " + url + ": timed out after 1 s: the server is slow or the repository too large");
  }
  close(fd);
}

TEST_F(GitTest, ChecksOutTheTreeOncePerCommit) {
  write("run.sh", "#!/bin/sh\n");
  fs::permissions(src_ + "/run.sh", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_symlink("app/config.yaml", src_ + "/link.yaml");
  std::string sha = commit("more");
  GitCache cache(root_ + "/cache");
  auto c = cache.checkout(url_, "main", none_);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->commit, sha);
  EXPECT_EQ(read(c->dir + "/app/config.yaml"), "replicas: 1\n");
  EXPECT_EQ(read(c->dir + "/link.yaml"), "replicas: 1\n");
  EXPECT_TRUE((fs::status(c->dir + "/run.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
  EXPECT_FALSE(fs::exists(c->dir + "/.git"));
  auto again = cache.checkout(url_, sha.substr(0, 10), none_, false);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->dir, c->dir);
}

TEST_F(GitTest, RefusesSymlinksOutOfTheTree) {
  fs::create_symlink("../../etc/passwd", src_ + "/app/escape");
  commit("escape");
  GitCache cache(root_ + "/cache");
  auto c = cache.checkout(url_, "main", none_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("symlink \"app/escape\" points outside the repository"), std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().code(), Code::kInvalid);
}

TEST(GitLinks, StayInsideByNames) {
  EXPECT_TRUE(link_stays_inside("a/b", "c"));
  EXPECT_TRUE(link_stays_inside("a/b", "../x"));
  EXPECT_TRUE(link_stays_inside("a/b", "./../a/./c"));
  EXPECT_FALSE(link_stays_inside("a/b", "../../x"));
  EXPECT_FALSE(link_stays_inside("b", ".."));
  EXPECT_FALSE(link_stays_inside("b", "/etc/passwd"));
  EXPECT_FALSE(link_stays_inside("b", ""));
}

TEST_F(GitTest, RefusesLinkChainsOutOfTheTree) {
  // Each link looks inside by its names; followed, s/d is the root and l goes above it.
  fs::create_directories(src_ + "/s");
  fs::create_symlink("..", src_ + "/s/d");
  fs::create_symlink("s/d/..", src_ + "/l");
  commit("chain");
  GitCache cache(root_ + "/cache");
  auto c = cache.checkout(url_, "main", none_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("symlink \"l\" points outside the repository"), std::string::npos)
      << c.status().message();
}

TEST_F(GitTest, RefusesTreesOverTheLimits) {
  write("big", std::string(4096, 'x'));
  commit("big");
  GitLimits limits;
  limits.max_tree_bytes = 1024;
  GitCache cache(root_ + "/cache", limits);
  auto c = cache.checkout(url_, "main", none_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("larger than"), std::string::npos) << c.status().message();
  limits = GitLimits();
  limits.max_tree_files = 2;
  GitCache few(root_ + "/few", limits);
  c = few.checkout(url_, "main", none_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("more than 2 files"), std::string::npos) << c.status().message();
}

TEST_F(GitTest, RefusesFetchesOverTheLimit) {
  std::string noise;
  for (int i = 0; i < 20000; ++i) noise += std::to_string(i * 7919 % 100003) + "\n";  // compresses poorly
  write("noise", noise);
  commit("noise");
  GitLimits limits;
  limits.max_fetch_bytes = 1024;
  GitCache cache(root_ + "/cache", limits);
  auto r = cache.resolve(url_, "main", none_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().message(), "fetching " + url_ + ": the repository is larger than 0 MiB (the limit of one fetch)");
}

TEST_F(GitTest, EvictsTheOldestCheckouts) {
  GitLimits limits;
  limits.max_checkouts = 2;
  GitCache cache(root_ + "/cache", limits);
  std::vector<std::string> dirs;
  for (int i = 0; i < 3; ++i) {
    write("n", std::to_string(i));
    std::string sha = commit("c" + std::to_string(i));
    auto c = cache.checkout(url_, sha, none_);
    ASSERT_TRUE(c) << c.status().message();
    dirs.push_back(c->dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // distinct mtimes
  }
  EXPECT_FALSE(fs::exists(dirs[0]));
  EXPECT_TRUE(fs::exists(dirs[1]));
  EXPECT_TRUE(fs::exists(dirs[2]));
}

TEST_F(GitTest, ParallelCheckoutsOfTwoRepositories) {
  std::string other = root_ + "/other";
  fs::copy(src_, other, fs::copy_options::recursive);
  GitCache cache(root_ + "/cache");
  std::vector<std::thread> threads;
  std::vector<Result<Checkout>> results(8, Result<Checkout>(internal_error("not run")));
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { results[i] = cache.checkout(i % 2 ? url_ : "file://" + other, "main", none_); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.status().message();
    EXPECT_EQ(read(r->dir + "/app/config.yaml"), "replicas: 1\n");
  }
  EXPECT_EQ(results[0]->dir, results[2]->dir);
  EXPECT_NE(results[0]->dir, results[1]->dir);
}

TEST(GitUrls, SshUrlsReachLibssh2) {
  char tmpl[] = "/tmp/skiff-git-ssh-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  GitCache cache(dir);
  auto r = cache.resolve("git@127.0.0.1:nobody/none.git", "main", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("fetching git@127.0.0.1:nobody/none.git: "), std::string::npos)
      << r.status().message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace skiff::cd
