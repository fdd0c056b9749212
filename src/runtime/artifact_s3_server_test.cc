// The S3 artifact repository against a real S3 server (ctest s3/repository): the server
// tests/s3/s3server.py started, whose env.json is the one argument. Exits 77 (skipped) when
// there is no server: no env.json, or one saying why the server is unavailable.
//
// Every run works under a prefix of its own, so runs against one server do not meet.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "runtime/artifact_repo.h"

namespace skiff::runtime {
namespace {

S3Config g_config;  // from env.json
S3Config g_tls;     // the same keys and bucket on the server that speaks HTTPS, its CA in ca_file
std::string g_other_ca;  // a CA that signed nothing
std::string g_run;  // this run's key prefix, "run-<pid>-<time>/"

class S3RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/skiff-s3-test-XXXXXX";
    ASSERT_TRUE(::mkdtemp(dir));
    tmp_ = dir;
  }
  void TearDown() override { std::system(("rm -rf '" + tmp_ + "'").c_str()); }

  static std::unique_ptr<ArtifactRepository> open(const S3Config& c = g_config) {
    auto repo = open_s3_repository(c);
    EXPECT_TRUE(repo) << repo.status().message();
    return repo ? std::move(*repo) : nullptr;
  }
  std::string write(const std::string& name, const std::string& data) {
    std::string path = tmp_ + "/" + name;
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // `n` bytes that differ along the file (a shifted part would not compare equal).
  static std::string pattern(size_t n, unsigned seed) {
    std::string s(n, '\0');
    std::mt19937 gen(seed);
    for (size_t i = 0; i < n; i += 4) {
      uint32_t v = gen();
      for (size_t j = 0; j < 4 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
    }
    return s;
  }

  std::string tmp_;
};

TEST_F(S3RepositoryTest, PutGetReadStatListRemove) {
  auto repo = open();
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->kind(), "s3");
  EXPECT_EQ(repo->describe(), "s3://" + g_config.bucket + " at " + g_config.endpoint);
  std::string key = g_run + "basic/hello.txt";
  ASSERT_TRUE(repo->put(key, write("hello", "hello, artifact\n"))) << repo->put(key, tmp_ + "/hello").message();
  ASSERT_TRUE(repo->put(g_run + "basic/empty", write("empty", "")));

  Result<ObjectInfo> info = repo->stat(key);
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->key, key);
  EXPECT_EQ(info->size, 16u);
  Result<ObjectInfo> empty = repo->stat(g_run + "basic/empty");
  ASSERT_TRUE(empty) << empty.status().message();
  EXPECT_EQ(empty->size, 0u);

  Status got = repo->get(key, tmp_ + "/out", 1 << 20);
  ASSERT_TRUE(got) << got.message();
  EXPECT_EQ(slurp(tmp_ + "/out"), "hello, artifact\n");

  std::string streamed;
  Status r = repo->read(key, [&](const char* d, size_t n) {
    streamed.append(d, n);
    return true;
  });
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(streamed, "hello, artifact\n");

  // A sink that says stop ends the transfer without an error.
  Status stopped = repo->read(key, [](const char*, size_t) { return false; });
  EXPECT_TRUE(stopped) << stopped.message();

  // Over the cap: an error naming the limit, and no partial file left behind.
  Status capped = repo->get(key, tmp_ + "/capped", 5);
  EXPECT_EQ(capped.code(), Code::kFailed);
  EXPECT_NE(capped.message().find("larger than the limit of 5 bytes"), std::string::npos) << capped.message();
  EXPECT_NE(::access((tmp_ + "/capped").c_str(), F_OK), 0);

  Result<std::vector<ObjectInfo>> listed = repo->list(g_run + "basic/");
  ASSERT_TRUE(listed) << listed.status().message();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, g_run + "basic/empty");
  EXPECT_EQ((*listed)[1].key, key);
  EXPECT_EQ((*listed)[1].size, 16u);
  Result<std::vector<ObjectInfo>> none = repo->list(g_run + "nothing-here/");
  ASSERT_TRUE(none) << none.status().message();
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(repo->remove(key));
  Result<ObjectInfo> gone = repo->stat(key);
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  EXPECT_NE(gone.status().message().find("no object s3://" + g_config.bucket + "/" + key), std::string::npos)
      << gone.status().message();
  Status missing = repo->get(key, tmp_ + "/out2", 1 << 20);
  EXPECT_EQ(missing.code(), Code::kNotFound) << missing.message();
  EXPECT_NE(missing.message().find("downloading s3://" + g_config.bucket + "/" + key + " at " + g_config.endpoint +
                                   " to " + tmp_ + "/out2: no object s3://"),
            std::string::npos)
      << missing.message();
  EXPECT_NE(::access((tmp_ + "/out2").c_str(), F_OK), 0) << "no file is left for a missing object";
  Status read_missing = repo->read(key, [](const char*, size_t) { return true; });
  EXPECT_EQ(read_missing.code(), Code::kNotFound) << read_missing.message();
  EXPECT_TRUE(repo->remove(key)) << "deleting what is not there is not an error";
  EXPECT_TRUE(repo->remove(g_run + "basic/empty"));
}

TEST_F(S3RepositoryTest, KeysThatNeedEncoding) {
  auto repo = open();
  ASSERT_TRUE(repo);
  const std::vector<std::string> keys = {
      g_run + "enc/with spaces/a b.txt",
      g_run + "enc/\xC3\xBCnic\xC3\xB6" "de/\xE2\x98\xBA caf\xC3\xA9.txt",
      g_run + "enc/odd/+&=?#%;,!$'()*@[]:~.txt",
      g_run + "enc/odd/<xml> & \"quotes\"",
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    Status s = repo->put(keys[i], write("f" + std::to_string(i), "content " + std::to_string(i)));
    ASSERT_TRUE(s) << keys[i] << ": " << s.message();
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    Status s = repo->get(keys[i], tmp_ + "/g", 1024);
    ASSERT_TRUE(s) << keys[i] << ": " << s.message();
    EXPECT_EQ(slurp(tmp_ + "/g"), "content " + std::to_string(i));
  }
  Result<std::vector<ObjectInfo>> listed = repo->list(g_run + "enc/");
  ASSERT_TRUE(listed) << listed.status().message();
  std::set<std::string> got, want(keys.begin(), keys.end());
  for (const ObjectInfo& o : *listed) got.insert(o.key);
  EXPECT_EQ(got, want);
  // A prefix that itself needs encoding.
  Result<std::vector<ObjectInfo>> spaced = repo->list(g_run + "enc/with spaces/");
  ASSERT_TRUE(spaced) << spaced.status().message();
  ASSERT_EQ(spaced->size(), 1u);
  EXPECT_EQ((*spaced)[0].key, keys[0]);
  for (const std::string& k : keys) EXPECT_TRUE(repo->remove(k)) << k;

  for (std::string bad : {std::string("../up"), std::string("/abs"), std::string("a//b"), std::string("a/./b"),
                          std::string(""), std::string(1025, 'k')}) {
    Status s = repo->put(bad, write("bad", "x"));
    EXPECT_EQ(s.code(), Code::kInvalid) << bad;
    EXPECT_NE(s.message().find("artifact key"), std::string::npos) << s.message();
  }
}

TEST_F(S3RepositoryTest, MultipartWithSmallParts) {
  S3Config c = g_config;
  c.part_size = 5ull << 20;  // S3's smallest part
  auto repo = open(c);
  ASSERT_TRUE(repo);
  std::string data = pattern((12ull << 20) + 12345, 1);  // 3 parts: 5 MiB, 5 MiB, the rest
  std::string key = g_run + "multipart/small-parts.bin";
  Status s = repo->put(key, write("big", data));
  ASSERT_TRUE(s) << s.message();
  Result<ObjectInfo> info = repo->stat(key);
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->size, data.size());
  ASSERT_TRUE(repo->get(key, tmp_ + "/back", data.size()));
  EXPECT_TRUE(slurp(tmp_ + "/back") == data) << "the object read back differs from what was uploaded";
  EXPECT_TRUE(repo->remove(key));
}

TEST_F(S3RepositoryTest, SixtyFiveMegabytesInDefaultParts) {
  auto repo = open();  // part_size 64 MiB: 65 MB go up as two parts
  ASSERT_TRUE(repo);
  std::string data = pattern(65ull << 20, 2);
  std::string key = g_run + "multipart/65mb.bin";
  auto t0 = std::chrono::steady_clock::now();
  Status s = repo->put(key, write("65mb", data));
  ASSERT_TRUE(s) << s.message();
  auto t1 = std::chrono::steady_clock::now();
  Status g = repo->get(key, tmp_ + "/back", 100ull << 20);
  ASSERT_TRUE(g) << g.message();
  auto t2 = std::chrono::steady_clock::now();
  std::printf("65 MiB: put %.2f s, get %.2f s\n", std::chrono::duration<double>(t1 - t0).count(),
              std::chrono::duration<double>(t2 - t1).count());
  EXPECT_TRUE(slurp(tmp_ + "/back") == data) << "the object read back differs from what was uploaded";
  Result<ObjectInfo> info = repo->stat(key);
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->size, data.size());
  EXPECT_TRUE(repo->remove(key));
}

TEST_F(S3RepositoryTest, ListsPastOnePage) {
  auto repo = open();
  ASSERT_TRUE(repo);
  std::string file = write("one", "1");
  const int n = 1003;  // S3 pages hold 1000 keys
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {  // also: one repository used from several threads
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        if (!repo->put(g_run + "many/" + std::to_string(i), file)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  Result<std::vector<ObjectInfo>> listed = repo->list(g_run + "many/");
  ASSERT_TRUE(listed) << listed.status().message();
  EXPECT_EQ(listed->size(), static_cast<size_t>(n));
  std::set<std::string> distinct;
  for (const ObjectInfo& o : *listed) distinct.insert(o.key);
  EXPECT_EQ(distinct.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) repo->remove(g_run + "many/" + std::to_string(i));
}

TEST_F(S3RepositoryTest, WrongSecretKey) {
  S3Config c = g_config;
  c.secret_key = "not-the-secret";
  auto repo = open(c);
  ASSERT_TRUE(repo);
  Status s = repo->put(g_run + "denied", write("x", "x"));
  EXPECT_EQ(s.code(), Code::kFailed);
  EXPECT_NE(s.message().find("uploading s3://" + c.bucket + "/" + g_run + "denied at " + c.endpoint), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("SignatureDoesNotMatch"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("check the secret key (the repository's secretKeySecret)"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("not-the-secret"), std::string::npos) << "a message must not show the secret";
  // HEAD answers have no body; stat still says why.
  Result<ObjectInfo> st = repo->stat(g_run + "denied");
  EXPECT_NE(st.status().message().find("secretKeySecret"), std::string::npos) << st.status().message();
}

TEST_F(S3RepositoryTest, UnknownAccessKey) {
  S3Config c = g_config;
  c.access_key = "nobody-knows-me";
  auto repo = open(c);
  ASSERT_TRUE(repo);
  Result<std::vector<ObjectInfo>> l = repo->list(g_run);
  ASSERT_FALSE(l);
  EXPECT_NE(l.status().message().find("InvalidAccessKeyId"), std::string::npos) << l.status().message();
  EXPECT_NE(l.status().message().find("check the access key (the repository's accessKeySecret)"), std::string::npos)
      << l.status().message();
}

TEST_F(S3RepositoryTest, WrongRegion) {
  S3Config c = g_config;
  c.region = "eu-west-1";  // the server is in us-east-1
  auto repo = open(c);
  ASSERT_TRUE(repo);
  Status s = repo->put(g_run + "region", write("r", "r"));
  EXPECT_EQ(s.code(), Code::kFailed);
  EXPECT_NE(s.message().find("bucket \"" + c.bucket + "\" is not in region \"eu-west-1\""), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("check the repository's region"), std::string::npos) << s.message();
}

TEST_F(S3RepositoryTest, MissingBucket) {
  S3Config c = g_config;
  c.bucket = "skiff-missing-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr) % 100000);
  auto repo = open(c);
  ASSERT_TRUE(repo);
  Status s = repo->put("a/b", write("x", "x"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("there is no bucket \"" + c.bucket + "\" at " + c.endpoint), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("create it, or set createBucketIfNotPresent"), std::string::npos) << s.message();
  Result<ObjectInfo> st = repo->stat("a/b");
  EXPECT_NE(st.status().message().find("NoSuchBucket"), std::string::npos) << st.status().message();
  Status rm = repo->remove("a/b");
  EXPECT_EQ(rm.code(), Code::kNotFound) << "deleting from a missing bucket is an error: " << rm.message();

  c.create_bucket = true;
  auto creating = open(c);
  ASSERT_TRUE(creating);
  Status put = creating->put("a/b", write("x", "x"));
  ASSERT_TRUE(put) << put.message();
  Result<ObjectInfo> info = creating->stat("a/b");
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->size, 1u);
  // A second repository on the now existing bucket finds it there.
  auto again = open(c);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->stat("a/b"));
  EXPECT_TRUE(creating->remove("a/b"));
}

TEST_F(S3RepositoryTest, UnreachableEndpoint) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);  // bound, never listening, now closed: nothing answers there
  S3Config c = g_config;
  c.endpoint = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto repo = open(c);
  ASSERT_TRUE(repo);
  Status s = repo->put("a", write("x", "x"));
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("the S3 endpoint \"" + c.endpoint + "\" could not be reached"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("uploading s3://" + c.bucket + "/a at " + c.endpoint), std::string::npos) << s.message();
  Result<ObjectInfo> st = repo->stat("a");
  EXPECT_EQ(st.status().code(), Code::kUnavailable) << st.status().message();
  std::printf("%s\n", s.message().c_str());
}

TEST_F(S3RepositoryTest, PlainHttpServerWithoutInsecure) {
  S3Config c = g_config;
  c.insecure = false;  // "host:port" then means https://, which this server does not speak
  auto repo = open(c);
  ASSERT_TRUE(repo);
  Result<ObjectInfo> st = repo->stat("a");
  EXPECT_EQ(st.status().code(), Code::kUnavailable) << st.status().message();
  EXPECT_NE(st.status().message().find("https://" + c.endpoint), std::string::npos) << st.status().message();
  EXPECT_NE(st.status().message().find("if the S3 server speaks plain HTTP, set insecure: true"), std::string::npos)
      << st.status().message();
  std::printf("%s\n", st.status().message().c_str());
}

TEST_F(S3RepositoryTest, HttpsWithTheServersCa) {
  if (g_tls.endpoint.empty()) GTEST_SKIP() << "env.json has no tls server";
  auto repo = open(g_tls);
  ASSERT_TRUE(repo);
  std::string key = g_run + "tls/k";
  Status s = repo->put(key, write("t", "over tls"));
  ASSERT_TRUE(s) << s.message();
  ASSERT_TRUE(repo->get(key, tmp_ + "/t2", 100));
  EXPECT_EQ(slurp(tmp_ + "/t2"), "over tls");
  EXPECT_TRUE(repo->remove(key));
}

TEST_F(S3RepositoryTest, HttpsWithAnUntrustedCertificate) {
  if (g_tls.endpoint.empty()) GTEST_SKIP() << "env.json has no tls server";
  for (const std::string& ca : {std::string(), g_other_ca}) {
    S3Config c = g_tls;
    c.ca_file = ca;
    auto repo = open(c);
    ASSERT_TRUE(repo);
    Status s = repo->put(g_run + "tls/untrusted", write("u", "u"));
    EXPECT_EQ(s.code(), Code::kUnavailable) << s.message();
    EXPECT_NE(s.message().find("the S3 server's certificate is not trusted: give the CA that signed it"),
              std::string::npos)
        << s.message();
  }
}

TEST_F(S3RepositoryTest, RefusesBadConfigurations) {
  auto message = [](const S3Config& c) {
    auto r = open_s3_repository(c);
    EXPECT_FALSE(r);
    EXPECT_EQ(r.status().code(), Code::kInvalid);
    return r.status().message();
  };
  S3Config c = g_config;
  c.bucket = "Bad_Bucket";
  EXPECT_NE(message(c).find("S3 bucket name \"Bad_Bucket\" is not valid"), std::string::npos);
  c = g_config;
  c.secret_key = "";
  EXPECT_NE(message(c).find("an access key but no secret key"), std::string::npos);
  c = g_config;
  c.endpoint = "";
  EXPECT_NE(message(c).find("no endpoint"), std::string::npos);
  c = g_config;
  c.endpoint = "http://127.0.0.1:9000/some/path";
  EXPECT_NE(message(c).find("has a path"), std::string::npos);
  c = g_config;
  c.endpoint = "ftp://127.0.0.1";
  EXPECT_NE(message(c).find("only http:// and https://"), std::string::npos);
  c = g_config;
  c.part_size = 1 << 20;
  EXPECT_NE(message(c).find("outside S3's limits"), std::string::npos);
}

TEST_F(S3RepositoryTest, FullUrlEndpoint) {
  S3Config c = g_config;
  c.endpoint = "http://" + g_config.endpoint + "/";
  c.insecure = false;  // the scheme in the URL decides
  auto repo = open(c);
  ASSERT_TRUE(repo);
  std::string key = g_run + "url/k";
  ASSERT_TRUE(repo->put(key, write("u", "u")));
  EXPECT_TRUE(repo->stat(key));
  EXPECT_TRUE(repo->remove(key));
}

}  // namespace
}  // namespace skiff::runtime

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: s3_repository_tests ENV_JSON (written by tests/s3/s3server.py start)\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "no S3 test server (no %s): run tests/s3/s3server.py start\n", argv[1]);
    return 77;
  }
  nlohmann::json env = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!env.is_object()) {
    std::fprintf(stderr, "%s is not a JSON object\n", argv[1]);
    return 1;
  }
  if (env.contains("unavailable")) {
    std::fprintf(stderr, "skipped: %s\n", env["unavailable"].get<std::string>().c_str());
    return 77;
  }
  for (const char* k : {"endpoint", "access_key", "secret_key", "bucket"}) {
    if (!env.contains(k) || !env[k].is_string()) {
      std::fprintf(stderr, "%s has no \"%s\"\n", argv[1], k);
      return 1;
    }
  }
  skiff::runtime::g_config.endpoint = env["endpoint"];
  skiff::runtime::g_config.access_key = env["access_key"];
  skiff::runtime::g_config.secret_key = env["secret_key"];
  skiff::runtime::g_config.bucket = env["bucket"];
  skiff::runtime::g_config.insecure = true;
  if (env.contains("tls") && env["tls"].is_object()) {
    skiff::runtime::g_tls = skiff::runtime::g_config;
    skiff::runtime::g_tls.insecure = false;
    skiff::runtime::g_tls.endpoint = env["tls"].value("endpoint", "");
    skiff::runtime::g_tls.ca_file = env["tls"].value("ca_file", "");
    skiff::runtime::g_other_ca = env["tls"].value("other_ca_file", "");
  }
  skiff::runtime::g_run = "run-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr)) + "/";
  return RUN_ALL_TESTS();
}
