#include "kube/kubeconfig.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/base64.h"

namespace skiff::kube {
namespace {

namespace fs = std::filesystem;

// A directory of its own per test, removed afterwards; restores the environment it changes.
class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/skiff-kubeconfig-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* name : {"KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HOME"}) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
    ::setenv("HOME", dir_.c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
    fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string dir_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Two contexts: "data" (everything inline) and "files" (relative paths, a token file).
std::string two_contexts() {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: data\n"
         "clusters:\n"
         "- name: inline\n"
         "  cluster:\n"
         "    server: https://127.0.0.1:16443/\n"
         "    certificate-authority-data: " + base64_encode("CA PEM") + "\n"
         "- name: onfile\n"
         "  cluster:\n"
         "    server: https://k8s.example:6443\n"
         "    certificate-authority: pki/ca.crt\n"
         "    insecure-skip-tls-verify: true\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n"
         "    client-certificate-data: " + base64_encode("CERT PEM") + "\n"
         "    client-key-data: " + base64_encode("KEY PEM") + "\n"
         "- name: robot\n"
         "  user:\n"
         "    client-certificate: pki/robot.crt\n"
         "    client-key: /abs/robot.key\n"
         "    tokenFile: token\n"
         "contexts:\n"
         "- name: data\n"
         "  context: {cluster: inline, user: admin}\n"
         "- name: files\n"
         "  context: {cluster: onfile, user: robot, namespace: ci}\n";
}

TEST_F(KubeconfigTest, InlineDataIsDecoded) {
  std::string path = write("config", two_contexts());
  Result<ClusterConfig> c = load_kubeconfig(path);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->server, "https://127.0.0.1:16443");
  EXPECT_EQ(c->tls.ca_pem, "CA PEM");
  EXPECT_EQ(c->tls.cert_pem, "CERT PEM");
  EXPECT_EQ(c->tls.key_pem, "KEY PEM");
  EXPECT_FALSE(c->tls.insecure_skip_verify);
  EXPECT_EQ(c->namespace_, "default");
  EXPECT_EQ(c->context, "data");
  EXPECT_EQ(c->source, path);
}

TEST_F(KubeconfigTest, RelativeFilesAndTokenFileAreReadBesideTheKubeconfig) {
  std::string path = write("conf/config", two_contexts());
  write("conf/pki/ca.crt", "x");
  write("conf/pki/robot.crt", "x");
  write("conf/token", "  secret-token\n");
  // client-key names an absolute path that does not exist: an error naming it...
  Result<ClusterConfig> missing = load_kubeconfig(path, "files");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().message(), "kubeconfig " + path +
                                            ": user \"robot\": \"client-key\" names /abs/robot.key, which cannot be read");
  // ...and once it is relative, it is found beside the kubeconfig.
  std::string text = two_contexts();
  text.replace(text.find("/abs/robot.key"), 14, "robot.key");
  write("conf/robot.key", "x");
  write("conf/config", text);
  Result<ClusterConfig> c = load_kubeconfig(path, "files");
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->tls.ca_file, dir_ + "/conf/pki/ca.crt");
  EXPECT_EQ(c->tls.cert_file, dir_ + "/conf/pki/robot.crt");
  EXPECT_EQ(c->tls.key_file, dir_ + "/conf/robot.key");
  EXPECT_TRUE(c->tls.ca_pem.empty());
  EXPECT_TRUE(c->tls.insecure_skip_verify);
  EXPECT_EQ(c->bearer_token, "secret-token");
  EXPECT_EQ(c->namespace_, "ci");
  EXPECT_EQ(c->context, "files");
}

TEST_F(KubeconfigTest, TokenWinsOverTokenFileAndBasicAuthIsRead) {
  std::string path = write("config",
                           "current-context: c\n"
                           "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:8080'}}]\n"
                           "users: [{name: u, user: {token: abc, tokenFile: nowhere, username: me, password: pw}}]\n"
                           "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
  Result<ClusterConfig> c = load_kubeconfig(path);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->bearer_token, "abc");
  EXPECT_EQ(c->username, "me");
  EXPECT_EQ(c->password, "pw");
}

TEST_F(KubeconfigTest, MissingContextUserOrClusterIsNamed) {
  std::string base = "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
                     "users: [{name: u, user: {token: t}}]\n";
  std::string path = write("config", base + "contexts: [{name: a, context: {cluster: k, user: nobody}}]\n");
  Result<ClusterConfig> c = load_kubeconfig(path, "a");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  EXPECT_EQ(c.status().message(), "kubeconfig " + path + ": context \"a\" names user \"nobody\", which is not defined");

  write("config", base + "contexts: [{name: a, context: {cluster: gone, user: u}}]\n");
  c = load_kubeconfig(path, "a");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().message(), "kubeconfig " + path + ": context \"a\" names cluster \"gone\", which is not defined");

  c = load_kubeconfig(path, "b");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_EQ(c.status().message(), "kubeconfig " + path + ": context \"b\", which is not defined");

  c = load_kubeconfig(path);  // no current-context
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("no current-context"), std::string::npos) << c.status().message();
}

TEST_F(KubeconfigTest, ExecAndAuthProviderPluginsAreRefusedNamingTheUser) {
  for (std::string plugin : {"exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}",
                             "auth-provider: {name: gcp}"}) {
    std::string path = write("config",
                             "current-context: c\n"
                             "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
                             "users: [{name: cloud, user: {" + plugin + "}}]\n"
                             "contexts: [{name: c, context: {cluster: k, user: cloud}}]\n");
    Result<ClusterConfig> c = load_kubeconfig(path);
    ASSERT_FALSE(c);
    EXPECT_NE(c.status().message().find("user \"cloud\" authenticates with an " + plugin.substr(0, plugin.find(':')) +
                                        " plugin, which skiff does not support"),
              std::string::npos)
        << c.status().message();
  }
}

TEST_F(KubeconfigTest, HostileFilesAreErrorsNotCrashes) {
  const std::vector<std::string> texts = {
      "", "just text", "[1, 2", "clusters: 3\ncurrent-context: a\ncontexts: [{name: a, context: {cluster: k}}]",
      "current-context: [a]", "current-context: a\ncontexts: [{name: a, context: [x]}]",
      "current-context: a\ncontexts: [{name: a, context: {cluster: k}}]\nclusters: [{name: k, cluster: {server: ftp://x}}]",
      "current-context: a\ncontexts: [{name: a, context: {cluster: k, user: u}}]\n"
      "clusters: [{name: k, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {client-key-data: '%%%'}}]",
      std::string(100000, '['), std::string("a: \x01\x02\xff"), "- - - - - - - -", ",", "&a [*a]",
  };
  std::string path = dir_ + "/config";
  for (const std::string& text : texts) {
    write("config", text);
    Result<ClusterConfig> c = load_kubeconfig(path);
    EXPECT_FALSE(c) << text.substr(0, 80);
    if (!c) {
      EXPECT_EQ(c.status().message().rfind("kubeconfig " + path + ":", 0), 0u) << c.status().message();
    }
  }
  write("config", std::string(5 << 20, '#'));
  Result<ClusterConfig> big = load_kubeconfig(path);
  ASSERT_FALSE(big);
  EXPECT_NE(big.status().message().find("larger than"), std::string::npos) << big.status().message();
}

// fuzz/yaml-cpp-hangs: inputs on which yaml-cpp 0.7 never returns; the parser deadline
// (5 s) cuts the first off, leaving a spinning thread behind until the binary exits.
TEST_F(KubeconfigTest, InputsThatHangTheYamlParserAreRefused) {
  for (const char* name : {"comma-at-document-start.yaml", "nul-bytes.yaml"}) {
    std::string path = std::string(SKIFF_SOURCE_DIR) + "/fuzz/yaml-cpp-hangs/" + name;
    Result<ClusterConfig> c = load_kubeconfig(path);
    ASSERT_FALSE(c) << name;
    EXPECT_EQ(c.status().code(), Code::kInvalid) << c.status().message();
  }
}

TEST_F(KubeconfigTest, KubeconfigListTakesTheFirstFileThatExists) {
  std::string path = write("second", two_contexts());
  ::setenv("KUBECONFIG", (dir_ + "/first:" + path + ":" + dir_ + "/third").c_str(), 1);
  Result<ClusterConfig> c = find_cluster_config("");
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->source, path);
  // An explicit path (--kubeconfig) wins over KUBECONFIG.
  Result<ClusterConfig> explicit_missing = find_cluster_config(dir_ + "/first");
  ASSERT_FALSE(explicit_missing);
  EXPECT_EQ(explicit_missing.status().code(), Code::kNotFound);

  ::setenv("KUBECONFIG", (dir_ + "/first:" + dir_ + "/third").c_str(), 1);
  c = find_cluster_config("");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_NE(c.status().message().find("none of its files exists"), std::string::npos) << c.status().message();
}

TEST_F(KubeconfigTest, NothingConfiguredSaysHowToConfigure) {
  Result<ClusterConfig> c = find_cluster_config("");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_EQ(c.status().message(), "no Kubernetes cluster is configured: pass --kubeconfig FILE, set KUBECONFIG, or write " +
                                      dir_ + "/.kube/config");
  write(".kube/config", two_contexts());
  c = find_cluster_config("", "files");  // the home file, and its context "files" (whose files are absent)
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find(dir_ + "/.kube/config"), std::string::npos) << c.status().message();
  c = find_cluster_config("");
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->source, dir_ + "/.kube/config");
}

TEST_F(KubeconfigTest, InClusterReadsTheServiceAccount) {
  std::string account = dir_ + "/sa";
  write("sa/token", "pod-token\n");
  write("sa/ca.crt", "x");
  write("sa/namespace", "builds");
  Result<ClusterConfig> c = in_cluster_config_at(account);
  ASSERT_FALSE(c);  // no KUBERNETES_SERVICE_HOST
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  ::setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  c = in_cluster_config_at(account);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  EXPECT_EQ(c->bearer_token, "pod-token");
  EXPECT_EQ(c->tls.ca_file, account + "/ca.crt");
  EXPECT_EQ(c->namespace_, "builds");
  EXPECT_EQ(c->source, "in-cluster");
  EXPECT_EQ(c->context, "");
}

}  // namespace
}  // namespace skiff::kube
