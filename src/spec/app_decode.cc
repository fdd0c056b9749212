// Argo CD's Application and AppProject (argoproj.io/v1alpha1) onto spec/application.h, with
// the strict rules of the workflow kinds (unknown fields are errors naming the path with the
// nearest field) and Argo CD's own checks: a repoURL per source, a destination, `source` or
// `sources`, unique `ref`s, known sync options. Everything is checked as it is decoded, where
// the line is known; the kinds' validators have nothing left to add.
#include <algorithm>
#include <cctype>
#include <set>

#include "spec/kinds.h"
#include "spec/types.h"
#include "spec/yaml_tree.h"
#include "util/strings.h"

namespace skiff::spec {

using detail::Ctx;
using detail::index_path;
using Y = YAML::Node;

namespace {

// A source's `ref`, used as `$ref/file`: letters, digits, '-' and '_'.
bool valid_ref(const std::string& ref) {
  for (char ch : ref) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') return false;
  }
  return !ref.empty();
}

// The sync options Argo CD knows (argo-cd docs: user-guide/sync-options), each "Name=value".
const std::vector<std::string>& known_sync_options() {
  static const std::vector<std::string> kKnown = {
      "CreateNamespace",        "PruneLast",           "ApplyOutOfSyncOnly", "Replace",
      "ServerSideApply",        "Validate",            "PrunePropagationPolicy",
      "RespectIgnoreDifferences", "FailOnSharedResource", "SkipDryRunOnMissingResource"};
  return kKnown;
}

std::map<std::string, std::string> name_values(Ctx& c, const Y& n, const std::string& p) {
  std::map<std::string, std::string> out;
  if (!c.seq(n, p)) return out;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string ep = index_path(p, i);
    if (!c.map(n[i], ep)) continue;
    c.keys(n[i], ep, {"name", "value"});
    out[c.str(n[i]["name"], ep + ".name")] = c.str(n[i]["value"], ep + ".value");
  }
  return out;
}

HelmSource decode_helm(Ctx& c, const Y& n, const std::string& p) {
  HelmSource h;
  if (!c.map(n, p)) return h;
  c.keys(n, p, {"valueFiles", "values", "valuesObject", "parameters", "fileParameters", "releaseName", "skipCrds",
                "passCredentials", "ignoreMissingValueFiles", "version", "namespace", "kubeVersion", "apiVersions",
                "skipTests", "skipSchemaValidation"});
  h.value_files = c.strings(n["valueFiles"], p + ".valueFiles");
  h.values = n["valuesObject"] ? c.json_text(n["valuesObject"]) : c.str(n["values"], p + ".values");
  if (c.seq(n["parameters"], p + ".parameters")) {
    for (size_t i = 0; i < n["parameters"].size(); ++i) {
      const Y& e = n["parameters"][i];
      std::string ep = index_path(p + ".parameters", i);
      if (!c.map(e, ep)) continue;
      c.keys(e, ep, {"name", "value", "forceString"});
      HelmParameter hp{c.str(e["name"], ep + ".name"), c.str(e["value"], ep + ".value"),
                       c.boolean(e["forceString"], ep + ".forceString")};
      if (hp.name.empty()) c.error(e, ep + ".name", "a helm parameter needs a name");
      h.parameters.push_back(std::move(hp));
    }
  }
  if (n["fileParameters"]) c.error(n["fileParameters"], p + ".fileParameters", "helm fileParameters are not supported yet");
  h.release_name = c.str(n["releaseName"], p + ".releaseName");
  h.skip_crds = c.boolean(n["skipCrds"], p + ".skipCrds");
  h.pass_credentials = c.boolean(n["passCredentials"], p + ".passCredentials");
  return h;
}

KustomizeSource decode_kustomize(Ctx& c, const Y& n, const std::string& p) {
  KustomizeSource k;
  if (!c.map(n, p)) return k;
  c.keys(n, p, {"images", "namePrefix", "nameSuffix", "commonLabels", "commonAnnotations", "namespace", "version",
                "forceCommonLabels", "forceCommonAnnotations", "commonAnnotationsEnvsubst", "replicas", "patches",
                "components", "labelWithoutSelector", "kubeVersion", "apiVersions"});
  k.images = c.strings(n["images"], p + ".images");
  k.name_prefix = c.str(n["namePrefix"], p + ".namePrefix");
  k.name_suffix = c.str(n["nameSuffix"], p + ".nameSuffix");
  k.common_labels = c.string_map(n["commonLabels"], p + ".commonLabels");
  k.common_annotations = c.string_map(n["commonAnnotations"], p + ".commonAnnotations");
  k.namespace_ = c.str(n["namespace"], p + ".namespace");
  for (const char* unsupported : {"replicas", "patches", "components"}) {
    if (n[unsupported]) c.error(n[unsupported], p + "." + unsupported, std::string("kustomize ") + unsupported + " are not supported yet");
  }
  return k;
}

DirectorySource decode_directory(Ctx& c, const Y& n, const std::string& p) {
  DirectorySource d;
  if (!c.map(n, p)) return d;
  c.keys(n, p, {"recurse", "include", "exclude", "jsonnet"});
  d.recurse = c.boolean(n["recurse"], p + ".recurse");
  d.include = c.str(n["include"], p + ".include");
  d.exclude = c.str(n["exclude"], p + ".exclude");
  if (n["jsonnet"]) c.error(n["jsonnet"], p + ".jsonnet", "jsonnet is not supported yet");
  return d;
}

AppSource decode_source(Ctx& c, const Y& n, const std::string& p) {
  AppSource s;
  s.pos = c.pos(n);
  if (!c.map(n, p)) return s;
  c.keys(n, p, {"repoURL", "path", "targetRevision", "chart", "ref", "name", "directory", "kustomize", "helm", "plugin"});
  s.repo_url = c.str(n["repoURL"], p + ".repoURL");
  if (s.repo_url.empty()) c.error(n, p + ".repoURL", "a source needs a repoURL (the git repository's URL)");
  s.path = c.str(n["path"], p + ".path");
  s.target_revision = c.str(n["targetRevision"], p + ".targetRevision");
  s.chart = c.str(n["chart"], p + ".chart");
  s.ref = c.str(n["ref"], p + ".ref");
  s.name = c.str(n["name"], p + ".name");
  if (n["plugin"]) c.error(n["plugin"], p + ".plugin", "config management plugins are not supported yet");
  if (n["directory"]) s.directory = decode_directory(c, n["directory"], p + ".directory");
  if (n["kustomize"]) s.kustomize = decode_kustomize(c, n["kustomize"], p + ".kustomize");
  if (n["helm"]) s.helm = decode_helm(c, n["helm"], p + ".helm");
  int kinds = !!s.directory + !!s.kustomize + !!s.helm;
  if (kinds > 1) c.error(n, p, "a source may have one of directory, kustomize and helm, not several");
  return s;
}

// `ref`s name sources for `$ref/file` values files: each a unique plain name, and every
// `$name/...` used must be one of them.
void check_refs(Ctx& c, const Y& seq, const std::vector<AppSource>& sources, bool multi) {
  std::set<std::string> refs;
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string& ref = sources[i].ref;
    if (ref.empty()) continue;
    std::string at = multi ? index_path("spec.sources", i) + ".ref" : "spec.source.ref";
    const Y& node = multi ? seq[i]["ref"] : seq["ref"];
    if (!multi) c.error(node, at, "ref is only for spec.sources (it names a source for the others' values files)");
    else if (!valid_ref(ref)) c.error(node, at, "ref \"" + ref + "\" must be letters, digits, '-' or '_'");
    else if (!refs.insert(ref).second) c.error(node, at, "ref \"" + ref + "\" names two sources; make each unique");
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    if (!sources[i].helm) continue;
    for (const std::string& f : sources[i].helm->value_files) {
      if (f.empty() || f[0] != '$') continue;
      std::string name = f.substr(1, f.find('/') - 1);
      if (!refs.count(name))
        c.error(multi ? seq[i] : seq, multi ? index_path("spec.sources", i) : "spec.source",
                "values file \"" + f + "\" names ref \"" + name + "\", which no source in spec.sources has");
    }
  }
}

SyncPolicy decode_sync_policy(Ctx& c, const Y& n, const std::string& p) {
  SyncPolicy s;
  if (!c.map(n, p)) return s;
  c.keys(n, p, {"automated", "syncOptions", "retry", "managedNamespaceMetadata"});
  if (const Y& a = n["automated"]; a && c.map(a, p + ".automated")) {
    c.keys(a, p + ".automated", {"prune", "selfHeal", "allowEmpty", "enabled"});
    s.automated = !a["enabled"] || c.boolean(a["enabled"], p + ".automated.enabled");
    s.prune = c.boolean(a["prune"], p + ".automated.prune");
    s.self_heal = c.boolean(a["selfHeal"], p + ".automated.selfHeal");
    s.allow_empty = c.boolean(a["allowEmpty"], p + ".automated.allowEmpty");
  }
  s.sync_options = c.strings(n["syncOptions"], p + ".syncOptions");
  for (size_t i = 0; i < s.sync_options.size(); ++i) {
    const std::string& o = s.sync_options[i];
    std::string key = o.substr(0, o.find('='));
    const auto& known = known_sync_options();
    if (o.find('=') == std::string::npos || std::find(known.begin(), known.end(), key) == known.end()) {
      std::string hint = nearest(key, known);
      c.error(n["syncOptions"][i], index_path(p + ".syncOptions", i),
              "unknown sync option \"" + o + "\"; options are Name=value, Name one of " + join(known, ", ") +
                  (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
    }
  }
  if (const Y& r = n["retry"]; r && c.map(r, p + ".retry")) {
    c.keys(r, p + ".retry", {"limit", "backoff", "refresh"});
    SyncRetry retry;
    retry.limit = c.integer(r["limit"], p + ".retry.limit").value_or(0);
    if (const Y& b = r["backoff"]; b && c.map(b, p + ".retry.backoff")) {
      c.keys(b, p + ".retry.backoff", {"duration", "factor", "maxDuration"});
      retry.backoff_duration = c.str(b["duration"], p + ".retry.backoff.duration");
      retry.backoff_factor = c.integer(b["factor"], p + ".retry.backoff.factor").value_or(2);
      retry.backoff_max_duration = c.str(b["maxDuration"], p + ".retry.backoff.maxDuration");
    }
    s.retry = retry;
  }
  if (const Y& m = n["managedNamespaceMetadata"]; m && c.map(m, p + ".managedNamespaceMetadata")) {
    c.keys(m, p + ".managedNamespaceMetadata", {"labels", "annotations"});
    s.managed_namespace_labels = c.string_map(m["labels"], p + ".managedNamespaceMetadata.labels");
    s.managed_namespace_annotations = c.string_map(m["annotations"], p + ".managedNamespaceMetadata.annotations");
  }
  return s;
}

std::vector<IgnoreDifference> decode_ignore_differences(Ctx& c, const Y& n, const std::string& p) {
  std::vector<IgnoreDifference> out;
  if (!c.seq(n, p)) return out;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string ep = index_path(p, i);
    if (!c.map(n[i], ep)) continue;
    c.keys(n[i], ep, {"group", "kind", "name", "namespace", "jsonPointers", "jqPathExpressions", "managedFieldsManagers"});
    IgnoreDifference d;
    d.group = c.str(n[i]["group"], ep + ".group");
    d.kind = c.str(n[i]["kind"], ep + ".kind");
    if (d.kind.empty()) c.error(n[i], ep + ".kind", "an ignoreDifferences entry needs a kind");
    d.name = c.str(n[i]["name"], ep + ".name");
    d.namespace_ = c.str(n[i]["namespace"], ep + ".namespace");
    d.json_pointers = c.strings(n[i]["jsonPointers"], ep + ".jsonPointers");
    d.jq_path_expressions = c.strings(n[i]["jqPathExpressions"], ep + ".jqPathExpressions");
    d.managed_fields_managers = c.strings(n[i]["managedFieldsManagers"], ep + ".managedFieldsManagers");
    out.push_back(std::move(d));
  }
  return out;
}

AppDestination decode_destination(Ctx& c, const Y& n, const std::string& p) {
  AppDestination d;
  if (!c.map(n, p)) return d;
  c.keys(n, p, {"server", "name", "namespace"});
  d.server = c.str(n["server"], p + ".server");
  d.name = c.str(n["name"], p + ".name");
  d.namespace_ = c.str(n["namespace"], p + ".namespace");
  return d;
}

void decode_application(Ctx& c, const Y& n, Object& obj) {
  const std::string p = "spec";
  ApplicationSpec app;
  if (!c.map(n, p)) return;
  c.keys(n, p, {"source", "sources", "destination", "project", "syncPolicy", "ignoreDifferences",
                "revisionHistoryLimit", "info", "sourceHydrator"});
  if (n["sourceHydrator"]) c.error(n["sourceHydrator"], p + ".sourceHydrator", "sourceHydrator is not supported yet");
  if (n["source"] && n["sources"]) {
    c.error(n["sources"], p + ".sources", "an Application has source or sources, not both");
  } else if (n["sources"]) {
    app.multi_source = true;
    if (c.seq(n["sources"], p + ".sources")) {
      for (size_t i = 0; i < n["sources"].size(); ++i)
        app.sources.push_back(decode_source(c, n["sources"][i], index_path(p + ".sources", i)));
      if (app.sources.empty()) c.error(n["sources"], p + ".sources", "sources is empty; list at least one source");
    }
    check_refs(c, n["sources"], app.sources, true);
  } else if (n["source"]) {
    app.sources.push_back(decode_source(c, n["source"], p + ".source"));
    check_refs(c, n["source"], app.sources, false);
  } else {
    c.error(n, p + ".source", "an Application needs a source (repoURL, path, targetRevision) or sources");
  }
  if (!n["destination"]) {
    c.error(n, p + ".destination", "an Application needs a destination (server or name, and namespace)");
  } else {
    app.destination = decode_destination(c, n["destination"], p + ".destination");
    const AppDestination& d = app.destination;
    if (d.server.empty() && d.name.empty())
      c.error(n["destination"], p + ".destination", "a destination needs a server (https://kubernetes.default.svc) or a name");
    else if (!d.server.empty() && !d.name.empty())
      c.error(n["destination"], p + ".destination", "a destination has a server or a name, not both");
  }
  app.project = c.str(n["project"], p + ".project");
  if (app.project.empty()) app.project = "default";
  if (n["syncPolicy"]) app.sync_policy = decode_sync_policy(c, n["syncPolicy"], p + ".syncPolicy");
  app.ignore_differences = decode_ignore_differences(c, n["ignoreDifferences"], p + ".ignoreDifferences");
  if (auto limit = c.integer(n["revisionHistoryLimit"], p + ".revisionHistoryLimit")) {
    if (*limit < 0) c.error(n["revisionHistoryLimit"], p + ".revisionHistoryLimit", "must not be negative");
    app.revision_history_limit = *limit;
  }
  app.info = name_values(c, n["info"], p + ".info");
  obj.app = std::move(app);
}

void decode_project(Ctx& c, const Y& n, Object& obj) {
  const std::string p = "spec";
  AppProjectSpec project;
  if (!c.map(n, p)) return;
  c.keys(n, p, {"description", "sourceRepos", "destinations", "clusterResourceWhitelist", "clusterResourceBlacklist",
                "namespaceResourceWhitelist", "namespaceResourceBlacklist", "roles", "syncWindows",
                "orphanedResources", "signatureKeys", "sourceNamespaces", "permitOnlyProjectScopedClusters",
                "destinationServiceAccounts"});
  project.description = c.str(n["description"], p + ".description");
  project.source_repos = c.strings(n["sourceRepos"], p + ".sourceRepos");
  if (c.seq(n["destinations"], p + ".destinations")) {
    for (size_t i = 0; i < n["destinations"].size(); ++i)
      project.destinations.push_back(decode_destination(c, n["destinations"][i], index_path(p + ".destinations", i)));
  }
  project.source_namespaces = c.strings(n["sourceNamespaces"], p + ".sourceNamespaces");
  project.cluster_resource_whitelist_json = c.json_text(n["clusterResourceWhitelist"]);
  project.cluster_resource_blacklist_json = c.json_text(n["clusterResourceBlacklist"]);
  project.namespace_resource_whitelist_json = c.json_text(n["namespaceResourceWhitelist"]);
  project.namespace_resource_blacklist_json = c.json_text(n["namespaceResourceBlacklist"]);
  obj.app_project = std::move(project);
}

}  // namespace

namespace detail {

void decode_application_kind(Ctx& c, const Y& spec, Object& obj) { decode_application(c, spec, obj); }
void decode_project_kind(Ctx& c, const Y& spec, Object& obj) { decode_project(c, spec, obj); }
// Everything is checked as decoded (above), where the line is known.
void validate_cd_kind(const Object&, const Library&, Diagnostics&, const std::vector<std::string>&) {}

}  // namespace detail

}  // namespace skiff::spec
