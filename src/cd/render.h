// Rendering an Application's source into the manifests it stands for, as Argo CD's
// repo-server does: a plain directory of manifests, a kustomization (`kustomize build`) or
// a Helm chart (`helm template`), chosen as Argo CD chooses it. Stateless; any thread (a
// kustomize or helm run blocks the calling thread up to RenderOptions::timeout_ms).
// The checkout is only read: overrides are applied in a scratch copy.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "spec/application.h"
#include "util/status.h"

namespace skiff::cd {

struct RenderOptions {
  std::string kustomize = "";   // program paths ("" = find it: find_tool)
  std::string helm = "";
  int timeout_ms = 60000;       // per program run, killed after
  size_t max_bytes = 64 << 20;  // of manifests in all
  size_t max_objects = 10000;
};

struct RenderRequest {
  spec::AppSource source;  // spec/application.h
  std::string root;        // the checkout's directory (git.h Checkout::dir)
  std::string app_name;    // Helm's default release name
  std::string namespace_;  // the destination namespace (helm --namespace, kustomize none)
  // The checkouts of the app's other sources that have a `ref`, by that name: helm value
  // files "$name/path" are read from them (multiple sources, as Argo CD).
  std::map<std::string, std::string> refs;
};

// The source's manifests as JSON objects (apiVersion, kind, metadata...), in the order
// the renderer gives them; List kinds flattened; empty documents skipped. Which renderer:
// source_type(). kInvalid with file:line for a manifest that does not parse; kFailed with
// the program's stderr for a kustomize/helm failure; kDeadline when one ran out of time;
// a path escaping the root (.., symlinks) refused (kInvalid). A source with a `chart`
// (chart.h pulled it) is rendered from root/<chart>.
Result<std::vector<nlohmann::json>> render(const RenderRequest& request, const RenderOptions& options = {});

// Which renderer render() would use ("Directory", "Kustomize", "Helm"), as Argo CD's
// status.sourceType says it: Helm for a chart; the one of source.directory/kustomize/helm that is set, else
// a kustomization.yaml/.yml/Kustomization in the path: Kustomize; a Chart.yaml: Helm;
// else Directory.
Result<std::string> source_type(const RenderRequest& request);

// Where the program `name` ("kustomize", "helm") is: `configured` if not empty, else
// $SKIFF_KUSTOMIZE / $SKIFF_HELM, else the newest in scripts/cd-tools-build's cache
// ($SKIFF_TOOLS_CACHE or ~/.cache/skiff/tools/<name>-<version>/bin), else on PATH.
// kNotFound saying how to build it.
Result<std::string> find_tool(const std::string& name, const std::string& configured = "");

}  // namespace skiff::cd
