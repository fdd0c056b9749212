#include "runtime/termination_message.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/fd.h"

namespace skiff::runtime {
namespace {

std::string lines(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += "line " + std::to_string(i) + "\n";
  return out;
}

TEST(TerminationMessage, SpecDefaultsAndChecks) {
  spec::Container c;
  auto d = termination_message_spec(c);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->path, "/dev/termination-log");
  EXPECT_FALSE(d->fallback_to_logs);
  c.termination_message_path = "/tmp//out/./msg";
  c.termination_message_policy = "FallbackToLogsOnError";
  auto s = termination_message_spec(c);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->path, "/tmp/out/msg");
  EXPECT_TRUE(s->fallback_to_logs);
  c.termination_message_policy = "Files";
  EXPECT_NE(termination_message_spec(c).status().message().find("\"Files\" is not one of File, FallbackToLogsOnError"),
            std::string::npos);
  c.termination_message_policy = "";
  c.termination_message_path = "tmp/msg";
  EXPECT_NE(termination_message_spec(c).status().message().find("terminationMessagePath"), std::string::npos);
  c.termination_message_path = "/tmp/../etc/passwd";
  EXPECT_FALSE(termination_message_spec(c).is_ok());
}

TEST(TerminationMessage, LogTailKeepsEightyLinesThenTwoKiB) {
  EXPECT_EQ(log_tail_message(""), "");
  EXPECT_EQ(log_tail_message("no newline"), "no newline");
  EXPECT_EQ(log_tail_message(lines(1, 5)), lines(1, 5));
  EXPECT_EQ(log_tail_message(lines(1, 100)), lines(21, 100));  // 80 lines of 8-9 bytes: under 2 KiB
  std::string partial = lines(1, 100) + "tail without newline";
  EXPECT_EQ(log_tail_message(partial), lines(22, 100) + "tail without newline");
  std::string wide(100, 'x');
  std::string text;
  for (int i = 0; i < 30; ++i) text += wide + "\n";  // 3030 bytes in 30 lines: the byte cap wins
  std::string got = log_tail_message(text);
  EXPECT_EQ(got.size(), 2048u);
  EXPECT_EQ(got, text.substr(text.size() - 2048));
}

class TerminationLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/skiff-termlog-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TerminationLogFile, IsMadeWritableByAnyoneAndReadFromItsTail) {
  std::string f = dir_ + "/termination-log";
  ::umask(022);
  ASSERT_TRUE(make_termination_log(f).is_ok());
  struct stat st;
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_EQ(*read_termination_log(f), "");
  ASSERT_TRUE(write_file(f, "disk full\n", 0666).is_ok());
  EXPECT_EQ(*read_termination_log(f), "disk full\n");
  std::string big = std::string(5000, 'a') + std::string(4096, 'b');
  ASSERT_TRUE(write_file(f, big, 0666).is_ok());
  EXPECT_EQ(*read_termination_log(f), std::string(4096, 'b'));  // kubelet keeps the end
  EXPECT_EQ(*read_termination_log(dir_ + "/absent"), "");
}

TEST_F(TerminationLogFile, LinksAndOtherFilesAreRefused) {
  std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink("/etc/hostname", link.c_str()), 0);
  EXPECT_FALSE(read_termination_log(link).is_ok());
  std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = read_termination_log(fifo);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace skiff::runtime
