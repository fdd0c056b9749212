#include "runtime/self_image.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace skiff::runtime {
namespace {

TEST(SelfImage, ParseLddKeepsAbsolutePaths) {
  std::string out =
      "\tlinux-vdso.so.1 (0x00007ffc)\n"
      "\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f54c62c8000)\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f54c6e15000)\n";
  auto libs = parse_ldd(out);
  ASSERT_TRUE(libs) << libs.status().message();
  EXPECT_EQ(*libs, (std::vector<std::string>{"/lib/x86_64-linux-gnu/libssl.so.3", "/lib64/ld-linux-x86-64.so.2"}));
  EXPECT_TRUE(parse_ldd("\tstatically linked\n")->empty());
  auto missing = parse_ldd("\tlibgone.so.1 => not found\n");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("ldd does not find libgone.so.1"), std::string::npos);
}

// Path -> mode of each entry of a gzip'd tar.
std::map<std::string, int> list_layer(const std::string& path) {
  std::map<std::string, int> out;
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) == ARCHIVE_OK) {
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      std::string name = archive_entry_pathname(e);
      if (!name.empty() && name.back() == '/') name.pop_back();  // libarchive marks directories so
      out[name] = static_cast<int>(archive_entry_mode(e) & 07777) |
                                       (archive_entry_filetype(e) == AE_IFDIR ? 01000000 : 0);
    }
  }
  archive_read_free(a);
  return out;
}

class SelfImageBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/self-image-" + std::to_string(::getpid());
    ::mkdir(dir_.c_str(), 0755);
    ::mkdir((dir_ + "/a").c_str(), 0755);
    ::mkdir((dir_ + "/b").c_str(), 0755);
    std::ofstream(dir_ + "/emissary") << "pretend static helper";
  }
  std::string dir_;
};

TEST_F(SelfImageBuild, EmissaryOnlyIsDeterministicAndHoldsOneFile) {
  SelfImageOptions o;
  o.emissary_only = true;
  o.self = "/proc/self/exe";
  o.emissary = dir_ + "/emissary";
  o.work_dir = dir_ + "/a";
  auto first = build_self_image(o);
  ASSERT_TRUE(first) << first.status().message();
  o.work_dir = dir_ + "/b";
  auto second = build_self_image(o);
  ASSERT_TRUE(second) << second.status().message();
  EXPECT_EQ(first->layer.descriptor.digest, second->layer.descriptor.digest);
  EXPECT_EQ(first->manifest_digest, second->manifest_digest);
  EXPECT_EQ(first->files, std::vector<std::string>{"/bin/skiff-emissary"});
  auto entries = list_layer(first->layer.path);
  EXPECT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries["bin"], 01000755);
  EXPECT_EQ(entries["bin/skiff-emissary"], 0755);

  auto config = nlohmann::json::parse(first->config.data);
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["architecture"], machine_architecture());
  EXPECT_EQ(config["config"]["Entrypoint"][0], "/bin/skiff-emissary");
  EXPECT_EQ(config["rootfs"]["diff_ids"][0], first->diff_id);
  EXPECT_NE(first->diff_id, first->layer.descriptor.digest);  // one is of the tar, one of its gzip
  auto manifest = nlohmann::json::parse(first->manifest);
  EXPECT_EQ(manifest["config"]["digest"], first->config.descriptor.digest);
  EXPECT_EQ(manifest["layers"][0]["size"], first->layer.descriptor.size);
}

TEST_F(SelfImageBuild, FullImageHasTheBinaryItsLoaderTmpAndPasswd) {
  SelfImageOptions o;
  o.self = "/bin/true";  // a small dynamic program stands in for skiff
  o.emissary = dir_ + "/emissary";
  o.work_dir = dir_ + "/a";
  auto image = build_self_image(o);
  ASSERT_TRUE(image) << image.status().message();
  auto entries = list_layer(image->layer.path);
  EXPECT_EQ(entries["bin/skiff"], 0755);
  EXPECT_EQ(entries["tmp"], 01001777);
  EXPECT_EQ(entries["etc/passwd"], 0644);
  bool loader = false;
  for (const auto& f : image->files) loader |= f.find("/ld-linux") != std::string::npos;
  EXPECT_TRUE(loader) << "no dynamic loader among " << image->files.size() << " files";
}

TEST_F(SelfImageBuild, MissingEmissarySaysItIsBuiltWithSkiff) {
  SelfImageOptions o;
  o.self = "/proc/self/exe";
  o.emissary = dir_ + "/nothere";
  o.work_dir = dir_ + "/a";
  auto image = build_self_image(o);
  ASSERT_FALSE(image);
  EXPECT_NE(image.status().message().find("skiff-emissary not found beside skiff"), std::string::npos)
      << image.status().message();
}

}  // namespace
}  // namespace skiff::runtime
