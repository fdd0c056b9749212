// Argo CD's Application (argoproj.io/v1alpha1), typed where skiff acts on a field: where its
// manifests come from (sources), where they go (destination) and how it syncs. Decoded by
// spec/decode.cc with the same strict rules as the workflow kinds (unknown fields are
// errors naming the path); its status is the controller's (server/app_controller.h) and is
// kept as JSON in the stored object, in Argo CD's shape.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/diagnostic.h"

namespace skiff::spec {

struct KustomizeImage {
  std::string text;  // as written: "nginx=nginx:1.27", "nginx:1.27", "nginx@sha256:..."
};

struct KustomizeSource {
  std::vector<std::string> images;  // kustomize edit set image arguments
  std::string name_prefix, name_suffix;
  std::map<std::string, std::string> common_labels, common_annotations;
  std::string namespace_;  // kustomize's namespace override ("" = none)
};

struct HelmParameter {
  std::string name, value;
  bool force_string = false;  // --set-string rather than --set
};

struct HelmSource {
  std::vector<std::string> value_files;  // relative to the chart's path
  std::string values;                    // `values` (YAML text) or `valuesObject` (as JSON text)
  std::vector<HelmParameter> parameters;
  std::string release_name;              // "" = the Application's name
  bool skip_crds = false;
  bool pass_credentials = false;
};

struct DirectorySource {
  bool recurse = false;
  std::string include, exclude;  // globs ("*.yaml", "{a.yaml,b.yaml}")
};

// One source; which renderer applies is chosen as Argo CD chooses it (render.h): `chart`
// set: a Helm chart from a Helm repository; else a directory with kustomization.yaml:
// Kustomize; with Chart.yaml: Helm; else plain manifests.
struct AppSource {
  std::string repo_url;
  std::string path;             // in the repository ("" or "." = its root)
  std::string target_revision;  // branch, tag, commit or HEAD ("" = HEAD)
  std::string chart;            // a chart of the Helm repository or OCI registry repo_url (cd/chart.h)
  std::string ref;              // `sources` only: names this source for $ref/values files
  std::string name;
  std::optional<DirectorySource> directory;
  std::optional<KustomizeSource> kustomize;
  std::optional<HelmSource> helm;
  SourcePos pos;
};

struct AppDestination {
  std::string server;      // "https://kubernetes.default.svc" (in-cluster) or another cluster's URL
  std::string name;        // a cluster's name instead of its server ("in-cluster")
  std::string namespace_;  // for namespaced resources that name none
};

struct SyncRetry {
  int64_t limit = 0;             // attempts after the first (negative: unlimited)
  std::string backoff_duration;  // "5s"
  int64_t backoff_factor = 2;
  std::string backoff_max_duration;  // "3m"
};

struct SyncPolicy {
  bool automated = false;
  bool prune = false;
  bool self_heal = false;
  bool allow_empty = false;
  std::vector<std::string> sync_options;  // "CreateNamespace=true", "PruneLast=true", ...
  std::optional<SyncRetry> retry;
  // managedNamespaceMetadata: set on the namespace CreateNamespace=true creates.
  std::map<std::string, std::string> managed_namespace_labels, managed_namespace_annotations;
};

struct IgnoreDifference {
  std::string group, kind, name, namespace_;
  std::vector<std::string> json_pointers;
  std::vector<std::string> jq_path_expressions;
  std::vector<std::string> managed_fields_managers;
};

struct ApplicationSpec {
  std::string project = "default";
  std::vector<AppSource> sources;  // `source` is sources[0] with `multi_source` false
  bool multi_source = false;
  AppDestination destination;
  SyncPolicy sync_policy;
  std::vector<IgnoreDifference> ignore_differences;
  int64_t revision_history_limit = 10;
  std::map<std::string, std::string> info;  // spec.info: name -> value, shown by the UI
};

struct AppProjectSpec {
  std::string description;
  std::vector<std::string> source_repos;                // globs; "*" = any
  std::vector<AppDestination> destinations;             // server/name/namespace globs
  std::vector<std::string> source_namespaces;           // namespaces its Applications may live in
  // The resource lists as written ([{group, kind}], "" = absent): Argo CD allows no
  // cluster-scoped kinds and every namespaced one unless these say otherwise.
  std::string cluster_resource_whitelist_json, cluster_resource_blacklist_json;
  std::string namespace_resource_whitelist_json, namespace_resource_blacklist_json;
};

}  // namespace skiff::spec
