#include "runtime/jq_filter.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "runtime/program.h"

namespace skiff::runtime {
namespace {

const char kJob[] = R"({"metadata": {"name": "pi", "labels": {"b": "2", "a": "1"}},
                        "status": {"succeeded": 1, "conditions": [{"type": "Complete"}, {"type": "Failed"}]}})";

std::string ok(const std::string& filter, const std::string& json = kJob) {
  auto out = jq_filter(filter, json);
  EXPECT_TRUE(out.is_ok()) << filter << ": " << out.status().message();
  return out.is_ok() ? *out : "<error>";
}

TEST(JqFilter, PrintsAsJqRawCompact) {
  EXPECT_EQ(ok(".metadata.name"), "pi");                              // strings raw
  EXPECT_EQ(ok(".status.succeeded"), "1");
  EXPECT_EQ(ok(".metadata.labels"), R"({"b":"2","a":"1"})");          // compact, in the input's order
  EXPECT_EQ(ok(".status.conditions[].type"), "Complete\nFailed");     // one result per line
  EXPECT_EQ(ok(".missing"), "null");
  EXPECT_EQ(ok("empty"), "");
  EXPECT_EQ(ok("\"a\\n\""), "a\n");                                   // only the final newline goes
  EXPECT_EQ(ok("-1"), "-1");                                          // not taken for an option
  EXPECT_EQ(ok("\"$(touch /tmp/no); 'x' `y`\""), "$(touch /tmp/no); 'x' `y`");  // no shell
}

TEST(JqFilter, ErrorsCarryJqsMessage) {
  auto bad = jq_filter(".a |", kJob);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Code::kFailed);
  EXPECT_NE(bad.status().message().find("jq filter \".a |\" failed (exit status 3): jq: error: syntax error"),
            std::string::npos)
      << bad.status().message();
  auto runtime = jq_filter(".status.succeeded.x", kJob);
  ASSERT_FALSE(runtime.is_ok());
  EXPECT_NE(runtime.status().message().find("Cannot index number with"), std::string::npos)
      << runtime.status().message();
  auto not_json = jq_filter(".", "{not json");
  ASSERT_FALSE(not_json.is_ok());
  EXPECT_NE(not_json.status().message().find("parse error"), std::string::npos) << not_json.status().message();
}

TEST(JqFilter, LoopIsKilledAtTheDeadline) {
  auto out = jq_filter("until(false; .)", kJob, 300);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kDeadline);
  EXPECT_EQ(out.status().message(), "jq filter \"until(false; .)\" ran longer than 300 ms and was stopped (does it loop?)");
}

TEST(JqFilter, OutputIsCapped) {
  auto out = jq_filter("range(100000000)", kJob, 10000, 1000);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kFailed);
  EXPECT_NE(out.status().message().find("printed more than 1000 bytes and was stopped"), std::string::npos);
}

TEST(JqFilter, LargeInputIsFedWhileJqReads) {
  std::string big = "{\"a\": [";
  for (int i = 0; i < 200000; ++i) big += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  big += "]}";
  ASSERT_GT(big.size(), 1u << 20);
  EXPECT_EQ(ok(".a | length", big), "200000");
}

bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(ProgramLimited, ChildLeftBehindIsKilledAndDoesNotHoldTheCaller) {
  ProgramLimits limits;
  limits.timeout_ms = 60000;
  auto run = run_program_limited({"/bin/sh", "-c", "sleep 600 & echo $!; echo oops >&2; exit 7"}, "", limits);
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  EXPECT_EQ(run->exit_code, 7);
  EXPECT_FALSE(run->timed_out);
  EXPECT_EQ(run->err, "oops\n");
  pid_t sleeper = std::stoi(run->out);
  bool dead = false;
  for (int i = 0; i < 100 && !(dead = gone(sleeper)); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(dead) << "the program's child " << sleeper << " still runs";
}

TEST(ProgramLimited, ProgramThatStopsReadingDoesNotKillTheCaller) {
  std::string input(4 << 20, 'x');  // more than a pipe holds
  auto run = run_program_limited({"/bin/true"}, input, ProgramLimits{});
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  EXPECT_EQ(run->exit_code, 0);  // and no SIGPIPE reached this process
}

TEST(ProgramLimited, MissingProgramIsAnError) {
  auto run = run_program_limited({"/nonexistent/prog"}, "", ProgramLimits{});
  ASSERT_FALSE(run.is_ok());
  EXPECT_NE(run.status().message().find("starting /nonexistent/prog"), std::string::npos);
}

// Figures, not assertions: what a jqFilter output costs next to starting a program at all.
TEST(JqFilter, PerfFigures) {
  using Clock = std::chrono::steady_clock;
  constexpr int kCalls = 50;
  auto t0 = Clock::now();
  for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(jq_filter(".metadata.name", kJob).is_ok());
  double jq_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / kCalls;
  auto t1 = Clock::now();
  for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(run_program_limited({"/bin/true"}, "", ProgramLimits{}).is_ok());
  double true_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count() / kCalls;
  std::printf("[ perf ] jq_filter: %.2f ms/call; /bin/true through run_program_limited: %.2f ms (%.1fx)\n", jq_ms,
              true_ms, jq_ms / true_ms);
}

}  // namespace
}  // namespace skiff::runtime
