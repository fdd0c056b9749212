#include "kube/line_splitter.h"

#include <gtest/gtest.h>

#include <vector>

namespace skiff::kube {
namespace {

TEST(LineSplitter, LinesSplitAcrossPiecesComeWhole) {
  LineSplitter s(100);
  std::vector<std::string> lines;
  auto take = [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  EXPECT_EQ(s.feed("{\"a\"", take), LineSplitter::Outcome::kMore);
  EXPECT_EQ(s.feed(":1}\n\n{\"b\":2}\n{\"c", take), LineSplitter::Outcome::kMore);
  EXPECT_EQ(s.pending(), 3u);
  EXPECT_EQ(s.feed("\":3}\n", take), LineSplitter::Outcome::kMore);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
}

TEST(LineSplitter, StopsWhenToldAndRefusesLongLines) {
  LineSplitter s(8);
  int seen = 0;
  EXPECT_EQ(s.feed("a\nb\nc\n", [&](std::string_view) { return ++seen < 2; }), LineSplitter::Outcome::kStopped);
  EXPECT_EQ(seen, 2);
  LineSplitter t(8);
  EXPECT_EQ(t.feed("12345", [](std::string_view) { return true; }), LineSplitter::Outcome::kMore);
  EXPECT_EQ(t.feed("6789\n", [](std::string_view) { return true; }), LineSplitter::Outcome::kTooLong);
  LineSplitter u(8);
  EXPECT_EQ(u.feed("12345678\n", [](std::string_view) { return true; }), LineSplitter::Outcome::kMore);
}

}  // namespace
}  // namespace skiff::kube
