// Choosing the renderer, keeping paths inside the checkout, and plain directories of
// manifests (Argo CD's "Directory" source: .yaml/.yml/.json files, recurse, include and
// exclude globs).
#include "cd/render.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cd/render_internal.h"
#include "spec/decode.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace skiff::cd {
namespace detail {

std::string inside(const std::string& root, const std::string& base, const std::string& path) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(fs::path(base) / path, ec);
  if (ec) return "";
  fs::path rel = resolved.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") return "";
  return resolved.string();
}

Status append_objects(const std::string& text, const std::string& file, const RenderOptions& options,
                      size_t& budget_bytes, std::vector<nlohmann::json>& out) {
  if (text.size() > budget_bytes)
    return invalid(file + ": the manifests pass " + std::to_string(options.max_bytes >> 20) +
                   " MiB in all; split the application");
  budget_bytes -= text.size();
  spec::DecodeLimits limits;
  limits.max_bytes = options.max_bytes;
  limits.max_documents = options.max_objects;
  auto docs = spec::manifests_to_json(text, file, limits);
  if (!docs) return docs.status();
  auto add = [&](nlohmann::json obj) -> Status {
    if (!obj.is_object() || !obj.contains("apiVersion") || !obj.contains("kind") || !obj["kind"].is_string() ||
        !obj["apiVersion"].is_string())
      return invalid(file + ": holds a document that is not a Kubernetes object (no apiVersion or kind)");
    if (out.size() >= options.max_objects)
      return invalid(file + ": more than " + std::to_string(options.max_objects) + " objects; split the application");
    out.push_back(std::move(obj));
    return Status::ok();
  };
  for (const auto& doc : *docs) {
    nlohmann::json obj = nlohmann::json::parse(doc);
    const auto kind = obj.is_object() ? obj.value("kind", nlohmann::json()) : nlohmann::json();
    if (kind.is_string() && ends_with(kind.get<std::string>(), "List") && obj.contains("items") &&
        obj["items"].is_array()) {
      for (auto& item : obj["items"])
        if (Status s = add(std::move(item)); !s) return s;
    } else if (Status s = add(std::move(obj)); !s) {
      return s;
    }
  }
  return Status::ok();
}

}  // namespace detail

namespace {

// Argo CD's globs (gobwas/glob without separators): fnmatch's *, ? and [..], where * also
// matches '/', plus {a,b} alternatives (nested ones too), expanded here.
void expand_braces(const std::string& pattern, std::vector<std::string>& out) {
  size_t open = pattern.find('{');
  if (open == std::string::npos || out.size() > 1000) {
    out.push_back(pattern);
    return;
  }
  int depth = 0;
  size_t start = open + 1;
  std::vector<std::string> alternatives;
  for (size_t i = open; i < pattern.size(); ++i) {
    char ch = pattern[i];
    if (ch == '{') {
      ++depth;
    } else if (ch == '}' && --depth == 0) {
      alternatives.push_back(pattern.substr(start, i - start));
      for (const auto& alt : alternatives) expand_braces(pattern.substr(0, open) + alt + pattern.substr(i + 1), out);
      return;
    } else if (ch == ',' && depth == 1) {
      alternatives.push_back(pattern.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(pattern);  // an unclosed brace is literal
}

bool glob_match(const std::string& pattern, const std::string& text) {
  std::vector<std::string> patterns;
  expand_braces(pattern, patterns);
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return ::fnmatch(p.c_str(), text.c_str(), 0) == 0; });
}

bool manifest_file(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// Every manifest file of the directory in Argo CD's order (lexical, a directory's files
// where its name sorts), relative to `dir`.
Status list_files(const fs::path& dir, const fs::path& rel, bool recurse, std::vector<fs::path>& out) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir / rel, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
  if (ec) return invalid("cannot list " + (dir / rel).string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const auto& e : entries) {
    fs::path name = rel / e.path().filename();
    if (e.is_symlink(ec) ? false : e.is_directory(ec)) {
      if (recurse && e.path().filename() != ".git")
        if (Status s = list_files(dir, name, recurse, out); !s) return s;
    } else if (manifest_file(name)) {
      out.push_back(name.lexically_normal());
    }
  }
  return Status::ok();
}

Result<std::vector<nlohmann::json>> render_directory(const RenderRequest& request, const detail::SourceDir& dir,
                                                     const RenderOptions& options) {
  spec::DirectorySource settings = request.source.directory.value_or(spec::DirectorySource{});
  std::vector<fs::path> files;
  if (Status s = list_files(dir.dir, "", settings.recurse, files); !s) return s;
  std::vector<nlohmann::json> out;
  size_t budget = options.max_bytes;
  for (const auto& file : files) {
    std::string rel = file.string();
    if (!settings.exclude.empty() && glob_match(settings.exclude, rel)) continue;
    if (!settings.include.empty() && !glob_match(settings.include, rel)) continue;
    std::string shown = dir.rel == "." ? rel : dir.rel + "/" + rel;
    std::string path = detail::inside(dir.root, dir.dir, rel);
    if (path.empty()) return invalid(shown + ": a symlink to outside the repository; refusing to read it");
    std::error_code ec;
    if (fs::is_directory(path, ec)) continue;  // a symlink to a directory is not followed (as Argo CD)
    auto size = fs::file_size(path, ec);
    if (ec) return invalid(shown + ": cannot read: " + ec.message());
    if (size > budget)
      return invalid(shown + ": the manifests pass " + std::to_string(options.max_bytes >> 20) +
                     " MiB in all; split the application");
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return invalid(shown + ": cannot read the file");
    // As Argo CD: a file that fails to read as objects is an error if it looks like a
    // manifest, else an unrelated file (a values.yaml, a linter's config) and skipped.
    std::vector<nlohmann::json> objects;
    size_t before = budget;
    if (Status s = detail::append_objects(text.str(), shown, options, budget, objects); !s) {
      const std::string t = text.str();
      if (t.find("apiVersion") != std::string::npos && t.find("kind") != std::string::npos) return s;
      budget = before;
      continue;
    }
    if (out.size() + objects.size() > options.max_objects)
      return invalid(shown + ": more than " + std::to_string(options.max_objects) + " objects; split the application");
    for (auto& o : objects) out.push_back(std::move(o));
  }
  return out;
}

bool has_file(const std::string& dir, const char* name) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / name, ec);
}

Result<detail::SourceDir> resolve(const RenderRequest& request) {
  std::error_code ec;
  fs::path root = fs::canonical(request.root, ec);
  if (ec || !fs::is_directory(root)) return invalid("the checkout " + request.root + " is not a directory");
  // A chart from a Helm repository: the root holds the chart's directory (chart.h).
  std::string path = !request.source.chart.empty() ? request.source.chart
                     : request.source.path.empty() ? "." : request.source.path;
  if (fs::path(path).is_absolute())
    return invalid("source path " + path + " is absolute; give it relative to the repository's root");
  std::string dir = detail::inside(root.string(), root.string(), path);
  if (dir.empty()) return invalid("source path " + path + " leaves the repository; give a path inside it");
  if (!fs::is_directory(dir, ec)) return invalid("source path " + path + " is not a directory in the repository");
  std::string rel = fs::path(dir).lexically_relative(root).string();
  return detail::SourceDir{root.string(), dir, rel.empty() ? "." : rel};
}

}  // namespace

Result<std::string> source_type(const RenderRequest& request) {
  const auto& s = request.source;
  if (!s.chart.empty()) {
    if (s.directory || s.kustomize) return invalid("source chart " + s.chart + " is a Helm chart: directory and kustomize do not apply");
    return std::string("Helm");
  }
  int explicit_types = s.directory.has_value() + s.kustomize.has_value() + s.helm.has_value();
  if (explicit_types > 1)
    return invalid("the source sets more than one of directory, kustomize and helm; keep the one that applies");
  if (s.kustomize) return std::string("Kustomize");
  if (s.helm) return std::string("Helm");
  if (s.directory) return std::string("Directory");
  auto dir = resolve(request);
  if (!dir) return dir.status();
  for (const char* name : {"kustomization.yaml", "kustomization.yml", "Kustomization"})
    if (has_file(dir->dir, name)) return std::string("Kustomize");
  if (has_file(dir->dir, "Chart.yaml")) return std::string("Helm");
  return std::string("Directory");
}

Result<std::vector<nlohmann::json>> render(const RenderRequest& request, const RenderOptions& options) {
  auto type = source_type(request);
  if (!type) return type.status();
  auto dir = resolve(request);
  if (!dir) return dir.status();
  if (*type == "Kustomize") return detail::render_kustomize(request, *dir, options);
  if (*type == "Helm") return detail::render_helm(request, *dir, options);
  return render_directory(request, *dir, options);
}

}  // namespace skiff::cd
