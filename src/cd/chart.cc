#include "cd/chart.h"

#include <filesystem>
#include <fstream>
#include <regex>

#include "cd/git_fetch.h"
#include "cd/render_internal.h"
#include "util/digest.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace skiff::cd {
namespace {

bool exact_version(const std::string& v) {
  static const std::regex semver(R"(v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?)");
  return std::regex_match(v, semver);
}

// The `version:` of an unpacked chart's Chart.yaml ("" if none).
std::string chart_version(const fs::path& chart_dir) {
  std::ifstream in(chart_dir / "Chart.yaml");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("version:", 0) != 0) continue;
    std::string v(trim(line.substr(8)));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
    return v;
  }
  return "";
}

// What a pulled chart may hold: bounded files and bytes (the repository is not trusted).
Status check_unpacked(const fs::path& dir, const ChartLimits& limits, const std::string& what) {
  std::error_code ec;
  size_t files = 0;
  uint64_t bytes = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (++files > limits.max_files)
      return invalid(what + " holds more than " + std::to_string(limits.max_files) + " files");
    if (it->is_regular_file(ec) && (bytes += it->file_size(ec)) > limits.max_bytes)
      return invalid(what + " is larger than " + std::to_string(limits.max_bytes >> 20) + " MiB unpacked");
  }
  if (ec) return invalid("cannot read the pulled " + what + ": " + ec.message());
  return Status::ok();
}

}  // namespace

ChartCache::ChartCache(std::string cache_dir, RenderOptions options, ChartLimits limits)
    : cache_dir_(std::move(cache_dir)), options_(std::move(options)), limits_(limits) {}

Result<Checkout> ChartCache::pull(const std::string& repo_url, const std::string& chart, const std::string& version,
                                  const RepoCredentials& creds) {
  static const std::regex chart_name(R"([A-Za-z0-9][A-Za-z0-9._-]{0,252})");
  if (!std::regex_match(chart, chart_name) || chart.find("..") != std::string::npos)
    return invalid("chart \"" + chart + "\" is not a chart name; give the chart's name in the repository (no slashes)");
  if (version.size() > 128 || version.find_first_of("\n\r") != std::string::npos)
    return invalid("chart " + chart + ": targetRevision \"" + version.substr(0, 40) +
                   "\" is not a chart version or constraint");
  bool http = starts_with(repo_url, "https://") || starts_with(repo_url, "http://");
  bool oci = starts_with(repo_url, "oci://") || repo_url.find("://") == std::string::npos;
  if ((!http && !oci) || repo_url.empty() || repo_url.find_first_of(" \n\r\t") != std::string::npos)
    return invalid("chart " + chart + ": repoURL " + redact_url(repo_url) +
                   " is not a Helm repository (https://...) or an OCI registry (oci://host/path or host/path)");
  std::string what = "chart " + chart + " from " + redact_url(repo_url);

  fs::path base = fs::path(cache_dir_) / sha256_hex(repo_url + "\n" + chart).substr(0, 24);
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  if (exact_version(version) && fs::is_directory(base / version / chart, ec))
    return Checkout{version, (base / version).string()};

  auto program = find_tool("helm", options_.helm);
  if (!program) return program.status();
  detail::ScratchDir scratch;
  if (!scratch.ok()) return internal_error("cannot make a scratch directory for helm in $TMPDIR or /tmp");
  std::string dest = scratch.path() + "/pulled";
  std::vector<std::string> args = {"pull"};
  if (http) {
    args.insert(args.end(), {chart, "--repo", repo_url});
  } else {
    std::string ref = starts_with(repo_url, "oci://") ? repo_url : "oci://" + repo_url;
    while (!ref.empty() && ref.back() == '/') ref.pop_back();
    args.push_back(ref + "/" + chart);
  }
  if (!version.empty()) args.insert(args.end(), {"--version", version});
  args.insert(args.end(), {"--untar", "--untardir", dest});
  // As Argo CD hands them to helm: on its command line, for the pull's few seconds.
  if (!creds.username.empty()) args.insert(args.end(), {"--username", creds.username, "--password", creds.password});
  if (!creds.ca_pem.empty()) {
    std::string ca = scratch.path() + "/ca.pem";
    std::ofstream(ca) << creds.ca_pem;
    args.insert(args.end(), {"--ca-file", ca});
  }
  if (creds.insecure) args.push_back("--insecure-skip-tls-verify");
  fs::create_directories(dest, ec);
  auto out = detail::run_tool(*program, args, scratch.path(), scratch, options_, "helm pull " + what, /*network=*/true);
  if (!out) return out.status();
  fs::path unpacked = fs::path(dest) / chart;
  if (!fs::is_directory(unpacked, ec) || !fs::is_regular_file(unpacked / "Chart.yaml", ec))
    return failed("helm pull " + what + " gave no chart named " + chart);
  if (Status s = check_unpacked(unpacked, limits_, what); !s) return s;
  std::string resolved = chart_version(unpacked);
  if (!exact_version(resolved)) return invalid(what + ": its Chart.yaml has no version (\"" + resolved + "\")");

  fs::path keep = base / resolved;
  if (!fs::is_directory(keep / chart, ec)) {
    // Copied beside its place, then renamed there: a half-written chart is never served.
    fs::path partial = keep / (chart + ".partial");
    fs::remove_all(partial, ec);
    fs::create_directories(keep, ec);
    fs::copy(unpacked, partial, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (!ec) fs::rename(partial, keep / chart, ec);
    if (ec) return internal_error("cannot keep the pulled " + what + " in " + keep.string() + ": " + ec.message());
  }
  return Checkout{resolved, keep.string()};
}

}  // namespace skiff::cd
