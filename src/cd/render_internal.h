// What render.cc and render_tools.cc share (internal to cd/): the resolved source
// directory, turning a renderer's YAML output into objects within the limits, and the
// kustomize and helm renderers.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cd/render.h"

namespace skiff::cd::detail {

// A source's directory, resolved and checked to lie inside the checkout.
struct SourceDir {
  std::string root;  // the checkout, canonical
  std::string dir;   // root/path, canonical
  std::string rel;   // dir relative to root ("." for the root), for messages
};

// Appends the objects of `text` (YAML or JSON, many documents) to `out`: empty documents
// skipped, List kinds flattened, each must have apiVersion and kind. `file` names the text
// in messages; `budget_bytes`/max_objects bound what all calls add up to.
Status append_objects(const std::string& text, const std::string& file, const RenderOptions& options,
                      size_t& budget_bytes, std::vector<nlohmann::json>& out);

Result<std::vector<nlohmann::json>> render_kustomize(const RenderRequest& request, const SourceDir& dir,
                                                    const RenderOptions& options);
Result<std::vector<nlohmann::json>> render_helm(const RenderRequest& request, const SourceDir& dir,
                                               const RenderOptions& options);

// A temporary directory removed with everything in it when this goes out of scope.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `program args` in `cwd` through env(1) with a clean environment: HOME and every
// cache in the scratch dir, an empty PATH (kustomize finds no git for remote bases) and,
// unless `network`, proxies that refuse every connection (nor does it fetch remote
// resources). Killed after options.timeout_ms; output bounded by options.max_bytes.
Result<std::string> run_tool(const std::string& program, const std::vector<std::string>& args, const std::string& cwd,
                             const ScratchDir& scratch, const RenderOptions& options, const std::string& what,
                             bool network = false);

// `path` (relative to `base`, or absolute) resolved and checked to stay inside `root` once
// symlinks are followed; "" when it escapes.
std::string inside(const std::string& root, const std::string& base, const std::string& path);

}  // namespace skiff::cd::detail
