// The kustomize and helm renderers: finding the programs, running them without a shell in
// a scratch HOME with no network, and Argo CD's overrides (kustomize edit set ... in a
// scratch copy; helm's values, value files and parameters).
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cd/render.h"
#include "cd/render_internal.h"
#include "runtime/program.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace skiff::cd {
namespace {

bool executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

namespace detail {

ScratchDir::ScratchDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/skiff-render-XXXXXX";
  if (char* made = ::mkdtemp(pattern.data())) path_ = made;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

Result<std::string> run_tool(const std::string& program, const std::vector<std::string>& args, const std::string& cwd,
                             const ScratchDir& scratch, const RenderOptions& options, const std::string& what,
                             bool network) {
  const std::string& home = scratch.path();
  std::vector<std::string> argv = {"/usr/bin/env", "-i", "-C", cwd, "HOME=" + home, "PATH=" + home + "/no-bin",
                                   "XDG_CACHE_HOME=" + home + "/cache", "XDG_CONFIG_HOME=" + home + "/config",
                                   "XDG_DATA_HOME=" + home + "/data", "HELM_CACHE_HOME=" + home + "/cache/helm",
                                   "HELM_CONFIG_HOME=" + home + "/config/helm", "HELM_DATA_HOME=" + home + "/data/helm"};
  if (!network)
    argv.insert(argv.end(), {"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
                             "http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9", "NO_PROXY=", "no_proxy="});
  argv.push_back(program);
  argv.insert(argv.end(), args.begin(), args.end());
  runtime::ProgramLimits limits;
  limits.timeout_ms = options.timeout_ms;
  limits.max_output = options.max_bytes;
  auto run = runtime::run_program_limited(argv, "", limits);
  if (!run) return run.status().with_context(what);
  if (run->timed_out)
    return Status(Code::kDeadline, what + ": did not finish in " + std::to_string(options.timeout_ms) +
                                       " ms and was stopped; simplify the source or raise the render timeout");
  if (run->output_too_large)
    return invalid(what + ": printed more than " + std::to_string(options.max_bytes >> 20) +
                   " MiB of manifests; split the application");
  if (run->exit_code != 0) {
    std::string err(trim(run->err));
    return failed(what + " failed (exit " + std::to_string(run->exit_code) + "): " + (err.empty() ? "no message" : err));
  }
  return std::move(run->out);
}

}  // namespace detail

namespace {

// Copies the checkout (without .git) into the scratch dir, symlinks as symlinks.
Status copy_checkout(const std::string& root, const std::string& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == ".git") continue;
    fs::copy(it->path(), fs::path(to) / it->path().filename(),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) break;
  }
  if (ec) return internal_error("copying the checkout to apply kustomize overrides: " + ec.message());
  return Status::ok();
}

// A symlink anywhere in the checkout that leads outside it would let kustomize or helm
// read the host's files: refuse the checkout, as Argo CD does.
Status check_symlinks(const std::string& root) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_symlink(ec)) continue;
    if (detail::inside(root, it->path().parent_path().string(), fs::read_symlink(it->path(), ec).string()).empty())
      return invalid(fs::path(it->path()).lexically_relative(root).string() +
                     ": a symlink to outside the repository; remove it or point it inside");
  }
  if (ec) return invalid("cannot walk the checkout " + root + ": " + ec.message());
  return Status::ok();
}

std::string joined_pairs(const std::map<std::string, std::string>& m) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : m) parts.push_back(k + ":" + v);
  return join(parts, ",");
}

// The objects a program printed.
Result<std::vector<nlohmann::json>> objects_of(const std::string& out, const std::string& what,
                                              const RenderOptions& options) {
  std::vector<nlohmann::json> objects;
  size_t budget = options.max_bytes;
  if (Status s = detail::append_objects(out, what, options, budget, objects); !s) return s;
  return objects;
}

}  // namespace

Result<std::string> find_tool(const std::string& name, const std::string& configured) {
  if (!configured.empty()) {
    if (!executable(configured)) return not_found(name + " program " + configured + " is not an executable file");
    return configured;
  }
  std::string var = name == "helm" ? "SKIFF_HELM" : "SKIFF_KUSTOMIZE";
  if (const char* env = getenv(var.c_str()); env && *env) {
    if (!executable(env)) return not_found("$" + var + " (" + env + ") is not an executable file");
    return std::string(env);
  }
  std::string cache;
  if (const char* c = getenv("SKIFF_TOOLS_CACHE"); c && *c) cache = c;
  else if (const char* home = getenv("HOME"); home && *home) cache = std::string(home) + "/.cache/skiff/tools";
  std::vector<fs::path> found;
  std::error_code ec;
  if (!cache.empty())
    for (fs::directory_iterator it(cache, ec), end; !ec && it != end; it.increment(ec))
      if (starts_with(it->path().filename().string(), name + "-") && executable(it->path() / "bin" / name))
        found.push_back(it->path() / "bin" / name);
  if (!found.empty()) return std::max_element(found.begin(), found.end())->string();  // the newest version
  if (const char* path = getenv("PATH"))
    for (const auto& dir : split(path, ':'))
      if (!dir.empty() && executable(fs::path(dir) / name)) return (fs::path(dir) / name).string();
  return not_found(name + " is not installed; build it with scripts/cd-tools-build or set $" + var);
}

namespace detail {

Result<std::vector<nlohmann::json>> render_kustomize(const RenderRequest& request, const SourceDir& dir,
                                                    const RenderOptions& options) {
  auto program = find_tool("kustomize", options.kustomize);
  if (!program) return program.status();
  if (Status s = check_symlinks(dir.root); !s) return s;
  ScratchDir scratch;
  if (!scratch.ok()) return internal_error("cannot make a scratch directory for kustomize in $TMPDIR or /tmp");
  std::string build_dir = dir.dir;
  const auto& k = request.source.kustomize;
  bool overrides = k && (!k->images.empty() || !k->name_prefix.empty() || !k->name_suffix.empty() ||
                         !k->common_labels.empty() || !k->common_annotations.empty() || !k->namespace_.empty());
  if (overrides) {
    // Argo CD edits the kustomization in its own checkout; ours is shared, so edit a copy
    // of all of it (the path's bases may be anywhere in the repository).
    std::string copy = scratch.path() + "/src";
    if (Status s = copy_checkout(dir.root, copy); !s) return s;
    build_dir = (fs::path(copy) / dir.rel).lexically_normal().string();
    std::vector<std::vector<std::string>> edits;
    if (!k->name_prefix.empty()) edits.push_back({"set", "nameprefix", "--", k->name_prefix});
    if (!k->name_suffix.empty()) edits.push_back({"set", "namesuffix", "--", k->name_suffix});
    if (!k->images.empty()) {
      edits.push_back({"set", "image"});
      edits.back().insert(edits.back().end(), k->images.begin(), k->images.end());
    }
    if (!k->common_labels.empty()) edits.push_back({"add", "label", joined_pairs(k->common_labels)});
    if (!k->common_annotations.empty())
      edits.push_back({"add", "annotation", joined_pairs(k->common_annotations)});
    if (!k->namespace_.empty()) edits.push_back({"set", "namespace", "--", k->namespace_});
    for (auto& edit : edits) {
      std::string what = "kustomize edit " + edit[0] + " " + edit[1] + " in " + dir.rel;
      edit.insert(edit.begin(), "edit");
      auto out = run_tool(*program, edit, build_dir, scratch, options, what);
      if (!out) return out.status();
    }
  }
  std::string what = "kustomize build " + dir.rel;
  auto out = run_tool(*program, {"build", build_dir}, build_dir, scratch, options, what);
  if (!out) return out.status();
  return objects_of(*out, what, options);
}

Result<std::vector<nlohmann::json>> render_helm(const RenderRequest& request, const SourceDir& dir,
                                               const RenderOptions& options) {
  auto program = find_tool("helm", options.helm);
  if (!program) return program.status();
  if (Status s = check_symlinks(dir.root); !s) return s;
  ScratchDir scratch;
  if (!scratch.ok()) return internal_error("cannot make a scratch directory for helm in $TMPDIR or /tmp");
  const spec::HelmSource helm = request.source.helm.value_or(spec::HelmSource{});
  std::string release = helm.release_name.empty() ? request.app_name : helm.release_name;
  if (release.empty()) return invalid("helm source " + dir.rel + ": no release name (give helm.releaseName)");
  std::vector<std::string> args = {"template", release, dir.dir};
  if (!request.namespace_.empty()) args.insert(args.end(), {"--namespace", request.namespace_});
  for (const auto& file : helm.value_files) {
    if (file.find("://") != std::string::npos)
      return invalid("helm value file " + file + ": only files in the app's sources are supported; give a path in one");
    std::string path;
    if (starts_with(file, "$")) {
      // "$ref/path": a file of the source with that `ref` (Argo CD's multiple sources).
      std::string ref = file.substr(1, file.find('/') - 1);
      auto it = request.refs.find(ref);
      if (it == request.refs.end())
        return invalid("helm value file " + file + ": no source of the application has ref: " + ref +
                       "; add `ref: " + ref + "` to the source holding it");
      if (Status s = check_symlinks(it->second); !s) return s;
      std::string rest = file.find('/') == std::string::npos ? "" : file.substr(file.find('/') + 1);
      path = inside(it->second, it->second, rest);
    } else {
      // As Argo CD: an absolute value file path is relative to the repository's root.
      path = fs::path(file).is_absolute() ? inside(dir.root, dir.root, fs::path(file).relative_path().string())
                                          : inside(dir.root, dir.dir, file);
    }
    std::error_code ec;
    if (path.empty()) return invalid("helm value file " + file + " leaves the repository; give a path inside it");
    if (!fs::is_regular_file(path, ec)) return invalid("helm value file " + file + " does not exist in " + dir.rel);
    args.insert(args.end(), {"--values", path});
  }
  if (!helm.values.empty()) {
    // `values` and `valuesObject` (JSON is YAML) come after the files, so they win.
    std::string path = scratch.path() + "/values.yaml";
    std::ofstream(path) << helm.values;
    args.insert(args.end(), {"--values", path});
  }
  for (const auto& p : helm.parameters)
    args.insert(args.end(), {p.force_string ? "--set-string" : "--set", p.name + "=" + p.value});
  args.push_back(helm.skip_crds ? "--skip-crds" : "--include-crds");
  std::string what = "helm template " + dir.rel;
  auto out = run_tool(*program, args, dir.dir, scratch, options, what);
  if (!out) return out.status();
  return objects_of(*out, what, options);
}

}  // namespace detail
}  // namespace skiff::cd
