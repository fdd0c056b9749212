#include "runtime/jq_filter.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "runtime/program.h"

namespace skiff::runtime {
namespace {

// Far below the kernel's limit on one argument (128 KiB), and far above any real filter.
constexpr size_t kMaxFilterBytes = 64 * 1024;

// jq on PATH, else Debian's place for it.
std::string find_jq() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t from = 0;
  while (from <= dirs.size()) {
    size_t colon = dirs.find(':', from);
    std::string dir = dirs.substr(from, colon == std::string::npos ? std::string::npos : colon - from);
    if (!dir.empty() && ::access((dir + "/jq").c_str(), X_OK) == 0) return dir + "/jq";
    if (colon == std::string::npos) break;
    from = colon + 1;
  }
  return "/usr/bin/jq";
}

// "jq filter \".a | b\"", shortened when long.
std::string name_filter(const std::string& filter) {
  return "jq filter \"" + (filter.size() > 200 ? filter.substr(0, 200) + "..." : filter) + "\"";
}

}  // namespace

Result<std::string> jq_filter(const std::string& filter, const std::string& json_text, int timeout_ms,
                              size_t max_output) {
  if (filter.size() > kMaxFilterBytes) {
    return invalid(fmt::format("{} is {} bytes long; at most {} are allowed", name_filter(filter), filter.size(),
                               kMaxFilterBytes));
  }
  std::string jq = find_jq();
  if (::access(jq.c_str(), X_OK) != 0) {
    return Status(Code::kUnavailable, "jq is not installed, and jqFilter outputs need it: install the Debian package jq "
                                      "(scripts/install-deps does)");
  }
  // jq 1.6 reads a leading '-' as an option and has no "--" before the filter; a space
  // before the filter changes nothing else.
  std::string arg = !filter.empty() && filter[0] == '-' ? " " + filter : filter;
  ProgramLimits limits;
  limits.timeout_ms = timeout_ms;
  limits.max_output = max_output;
  auto run = run_program_limited({jq, "-r", "-c", arg}, json_text, limits);
  if (!run) return run.status().with_context("running " + name_filter(filter));
  if (run->timed_out) {
    return Status(Code::kDeadline, fmt::format("{} ran longer than {} ms and was stopped (does it loop?)",
                                               name_filter(filter), timeout_ms));
  }
  if (run->output_too_large) {
    return failed(fmt::format("{} printed more than {} bytes and was stopped", name_filter(filter), max_output));
  }
  if (run->exit_code != 0) {
    std::string err = run->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > 2000) err = err.substr(0, 2000) + "...";
    std::string how = run->exit_code < 0 ? "was killed" : fmt::format("failed (exit status {})", run->exit_code);
    return failed(fmt::format("{} {}: {}", name_filter(filter), how, err.empty() ? "no message" : err));
  }
  std::string out = std::move(run->out);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace skiff::runtime
