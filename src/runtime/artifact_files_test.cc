#include "runtime/artifact_files.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/artifact_repo.h"

namespace skiff::runtime {
namespace {

namespace fs = std::filesystem;

class ArtifactFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/skiff-artifact-files-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // A tar.gz with one entry of each (name, type, content-or-link-target).
  struct Entry {
    std::string name;
    int type;
    std::string data;
  };
  std::string tarball(const std::vector<Entry>& entries) {
    std::string path = dir_ + "/crafted.tgz";
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    archive_write_open_filename(a, path.c_str());
    for (const auto& e : entries) {
      archive_entry* en = archive_entry_new();
      archive_entry_set_pathname(en, e.name.c_str());
      archive_entry_set_perm(en, 0644);
      if (e.type == AE_IFLNK) {
        archive_entry_set_filetype(en, AE_IFLNK);
        archive_entry_set_symlink(en, e.data.c_str());
      } else if (e.type == 0) {  // a hard link to e.data
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_hardlink(en, e.data.c_str());
      } else {
        archive_entry_set_filetype(en, static_cast<unsigned>(e.type));
        archive_entry_set_size(en, e.type == AE_IFREG ? static_cast<la_int64_t>(e.data.size()) : 0);
      }
      archive_write_header(a, en);
      if (e.type == AE_IFREG) archive_write_data(a, e.data.data(), e.data.size());
      archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
  }

  std::string dir_;
};

TEST_F(ArtifactFiles, PackAndUnpackAFileKeepsItsContentAndMode) {
  write(dir_ + "/src/hello.txt", "hi\n");
  ASSERT_TRUE(pack_artifact(dir_ + "/src/hello.txt", "hello.txt", spec::ArchiveKind::kTar, -1, dir_ + "/a.tgz").is_ok());
  Status s = unpack_artifact(dir_ + "/a.tgz", dir_ + "/out", 0600);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(read(dir_ + "/out"), "hi\n");  // the one top entry becomes the path itself
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/out").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ArtifactFiles, PackAndUnpackADirectoryKeepsItsTreeAndLinks) {
  write(dir_ + "/src/d/a", "a");
  write(dir_ + "/src/d/sub/b", "b");
  fs::create_symlink("a", dir_ + "/src/d/link");
  ASSERT_TRUE(pack_artifact(dir_ + "/src/d", "d", spec::ArchiveKind::kTar, 9, dir_ + "/d.tgz").is_ok());
  ASSERT_TRUE(unpack_artifact(dir_ + "/d.tgz", dir_ + "/out", -1).is_ok());
  EXPECT_EQ(read(dir_ + "/out/a"), "a");
  EXPECT_EQ(read(dir_ + "/out/sub/b"), "b");
  EXPECT_EQ(fs::read_symlink(dir_ + "/out/link"), "a");
}

TEST_F(ArtifactFiles, UnpackRefusesEntriesThatLeaveTheArtifact) {
  for (const char* bad : {"../escaped", "/tmp/absolute-escape", "a/../../escaped"}) {
    std::string tgz = tarball({{bad, AE_IFREG, "x"}});
    Status s = unpack_artifact(tgz, dir_ + "/out", -1);
    EXPECT_FALSE(s.is_ok()) << bad;
    EXPECT_NE(s.message().find("a path outside it"), std::string::npos) << s.message();
    EXPECT_FALSE(fs::exists(dir_ + "/escaped"));
    EXPECT_FALSE(fs::exists("/tmp/absolute-escape"));
    fs::remove_all(dir_ + "/out");
  }
}

TEST_F(ArtifactFiles, UnpackDoesNotWriteThroughALinkItUnpacked) {
  fs::create_directories(dir_ + "/victim");
  std::string tgz = tarball({{"top/evil", AE_IFLNK, dir_ + "/victim"}, {"top/evil/owned", AE_IFREG, "x"}});
  Status s = unpack_artifact(tgz, dir_ + "/out", -1);
  EXPECT_FALSE(s.is_ok());
  EXPECT_FALSE(fs::exists(dir_ + "/victim/owned"));
}

TEST_F(ArtifactFiles, UnpackSkipsHardLinksAndDevices) {
  write(dir_ + "/secret", "secret");
  std::string tgz = tarball({{"top/file", AE_IFREG, "ok"}, {"top/hard", 0, dir_ + "/secret"}, {"top/dev", AE_IFCHR, ""}});
  Status s = unpack_artifact(tgz, dir_ + "/out", -1);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(read(dir_ + "/out/file"), "ok");
  EXPECT_FALSE(fs::exists(dir_ + "/out/hard"));
  EXPECT_FALSE(fs::exists(dir_ + "/out/dev"));
}

TEST_F(ArtifactFiles, UnpackLeavesAFileThatIsNotATarballAsItIs) {
  write(dir_ + "/plain", "just text");
  ASSERT_TRUE(unpack_artifact(dir_ + "/plain", dir_ + "/out", -1).is_ok());
  EXPECT_EQ(read(dir_ + "/out"), "just text");
}

TEST_F(ArtifactFiles, CopyOutOfRootResolvesLinksInsideTheRootOnly) {
  std::string root = dir_ + "/root";
  write(root + "/tmp/real.txt", "inside");
  write(dir_ + "/outside.txt", "host secret");
  fs::create_symlink("/tmp/real.txt", root + "/tmp/abs-link");      // absolute: resolved in the root
  fs::create_symlink(dir_ + "/outside.txt", root + "/tmp/escape");  // names a host file: not in the root
  fs::create_symlink("../../../../../../outside.txt", root + "/tmp/climb");
  ASSERT_TRUE(copy_out_of_root(root, "/tmp/abs-link", dir_ + "/a").is_ok());
  EXPECT_EQ(read(dir_ + "/a"), "inside");
  for (const char* p : {"/tmp/escape", "/tmp/climb"}) {
    Status s = copy_out_of_root(root, p, dir_ + "/b");
    EXPECT_EQ(s.code(), Code::kNotFound) << p << ": " << s.message();
    EXPECT_FALSE(fs::exists(dir_ + "/b")) << p;
  }
  // A link inside a copied directory stays a link (never followed out).
  write(root + "/tmp/d/f", "f");
  fs::create_symlink(dir_ + "/outside.txt", root + "/tmp/d/out");
  ASSERT_TRUE(copy_out_of_root(root, "/tmp/d", dir_ + "/d").is_ok());
  EXPECT_TRUE(fs::is_symlink(dir_ + "/d/out"));
  EXPECT_EQ(read(dir_ + "/d/f"), "f");
  EXPECT_EQ(copy_out_of_root(root, "/tmp/none", dir_ + "/n").code(), Code::kNotFound);
}

TEST_F(ArtifactFiles, CopyOutOfRootStopsAtTheSizeLimit) {
  std::string root = dir_ + "/root";
  write(root + "/big", std::string(4096, 'x'));
  ArtifactLimits limits;
  limits.max_bytes = 1024;
  Status s = copy_out_of_root(root, "/big", dir_ + "/big", limits);
  EXPECT_FALSE(s.is_ok());
}

TEST(ArtifactKey, RefusesKeysThatLeaveTheRepository) {
  EXPECT_TRUE(check_artifact_key("wf/pod/a.tgz").is_ok());
  for (const char* bad : {"", "/abs", "a/../b", "a//b", "./a", "a/.."}) EXPECT_FALSE(check_artifact_key(bad).is_ok()) << bad;
}

TEST_F(ArtifactFiles, LocalRepositoryStoresListsAndRemoves) {
  auto repo = open_local_repository(dir_ + "/repo");
  ASSERT_TRUE(repo.is_ok());
  write(dir_ + "/f", "data");
  ASSERT_TRUE((*repo)->put("wf/p/a.tgz", dir_ + "/f").is_ok());
  ASSERT_TRUE((*repo)->put("wf/p/dir/x", dir_ + "/f").is_ok());
  auto list = (*repo)->list("wf/p/");
  ASSERT_TRUE(list.is_ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key, "wf/p/a.tgz");
  ASSERT_TRUE((*repo)->get("wf/p/a.tgz", dir_ + "/g", 100).is_ok());
  EXPECT_EQ(read(dir_ + "/g"), "data");
  EXPECT_FALSE((*repo)->get("wf/p/a.tgz", dir_ + "/g", 2).is_ok());  // over the cap
  EXPECT_EQ((*repo)->stat("wf/p/missing").status().code(), Code::kNotFound);
  EXPECT_FALSE((*repo)->put("../escape", dir_ + "/f").is_ok());
  ASSERT_TRUE((*repo)->remove("wf/p/a.tgz").is_ok());
  ASSERT_TRUE((*repo)->remove("wf/p/dir/x").is_ok());
  EXPECT_FALSE(fs::exists(dir_ + "/repo/wf"));  // empty directories go too
}

}  // namespace
}  // namespace skiff::runtime
