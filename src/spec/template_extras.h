// Internal to spec/: decoding of a template's `memoize` and of `podResources` (template and
// workflow level), kept apart from decode.cc's body. Included only by spec's .cc files.
#pragma once

#include <string>

#include "spec/types.h"
#include "spec/yaml_tree.h"

namespace skiff::spec::detail {

// memoize: {key, maxAge?, cache: {configMap: {name, key?, optional?}}}, checked field by
// field; returns it as compact JSON ("" when absent). Values may hold {{...}}: the engine
// resolves and checks them as a node starts (engine/memoize.cc).
std::string decode_memoize(Ctx& c, const YAML::Node& n, const std::string& path);

// podResources (a ResourceRequirements: limits, requests) as Argo's validation allows it:
// only cpu, memory and hugepages-* and no claims; not on http and plugin templates, which
// have no pod of their own (`type` kNone: the workflow's). Decoding itself is the pod-level
// field table's (spec/pod.h: it becomes the Pod's `resources`).
void check_pod_resources(Ctx& c, const YAML::Node& n, const std::string& path, TemplateType type);

}  // namespace skiff::spec::detail
