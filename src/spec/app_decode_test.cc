// Argo CD's Application and AppProject through the strict decoder: every field lands in
// spec/application.h, and each mistake gets a message naming its path.
#include <gtest/gtest.h>

#include "spec/decode.h"
#include "spec/kinds.h"

namespace skiff::spec {
namespace {

Decoded decode(const std::string& spec, const std::string& kind = "Application") {
  return decode_documents("apiVersion: argoproj.io/v1alpha1\nkind: " + kind +
                              "\nmetadata: {name: web, namespace: argocd}\nspec:\n" + spec,
                          "app.yaml");
}

// The one diagnostic of `d` as "path: message", or what went wrong.
std::string only_error(const Decoded& d) {
  if (d.diagnostics.size() != 1) return "expected one diagnostic, got: " + format_all(d.diagnostics);
  return d.diagnostics[0].path + ": " + d.diagnostics[0].message;
}

const char* kDest = "  destination: {server: https://kubernetes.default.svc, namespace: web}\n";

TEST(AppDecode, EveryFieldOfAnApplication) {
  auto d = decode_documents(R"(apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd, finalizers: [resources-finalizer.argocd.argoproj.io]}
spec:
  project: team
  source:
    repoURL: https://git.example.com/web.git
    path: deploy/overlays/prod
    targetRevision: main
    kustomize:
      images: [nginx=nginx:1.27]
      namePrefix: p-
      nameSuffix: -s
      commonLabels: {team: web}
      commonAnnotations: {a: b}
      namespace: web
  destination: {name: in-cluster, namespace: web}
  syncPolicy:
    automated: {prune: true, selfHeal: true, allowEmpty: true}
    syncOptions: [CreateNamespace=true, PruneLast=true, ServerSideApply=true]
    retry: {limit: 5, backoff: {duration: 5s, factor: 3, maxDuration: 3m}}
    managedNamespaceMetadata: {labels: {env: prod}}
  ignoreDifferences:
    - {group: apps, kind: Deployment, name: web, jsonPointers: [/spec/replicas], managedFieldsManagers: [hpa]}
  revisionHistoryLimit: 3
  info: [{name: owner, value: web-team}]
operation: {sync: {revision: main}}
status: {sync: {status: Synced}}
)",
                            "app.yaml");
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  ASSERT_EQ(d.objects.size(), 1u);
  const Object& o = d.objects[0];
  EXPECT_EQ(o.kind, Kind::kApplication);
  ASSERT_TRUE(o.app);
  const ApplicationSpec& a = *o.app;
  EXPECT_EQ(a.project, "team");
  ASSERT_EQ(a.sources.size(), 1u);
  EXPECT_FALSE(a.multi_source);
  EXPECT_EQ(a.sources[0].repo_url, "https://git.example.com/web.git");
  EXPECT_EQ(a.sources[0].path, "deploy/overlays/prod");
  EXPECT_EQ(a.sources[0].target_revision, "main");
  ASSERT_TRUE(a.sources[0].kustomize);
  EXPECT_EQ(a.sources[0].kustomize->images, std::vector<std::string>{"nginx=nginx:1.27"});
  EXPECT_EQ(a.sources[0].kustomize->name_prefix, "p-");
  EXPECT_EQ(a.sources[0].kustomize->name_suffix, "-s");
  EXPECT_EQ(a.sources[0].kustomize->common_labels.at("team"), "web");
  EXPECT_EQ(a.sources[0].kustomize->namespace_, "web");
  EXPECT_EQ(a.destination.name, "in-cluster");
  EXPECT_EQ(a.destination.namespace_, "web");
  EXPECT_TRUE(a.sync_policy.automated);
  EXPECT_TRUE(a.sync_policy.prune);
  EXPECT_TRUE(a.sync_policy.self_heal);
  EXPECT_TRUE(a.sync_policy.allow_empty);
  EXPECT_EQ(a.sync_policy.sync_options.size(), 3u);
  ASSERT_TRUE(a.sync_policy.retry);
  EXPECT_EQ(a.sync_policy.retry->limit, 5);
  EXPECT_EQ(a.sync_policy.retry->backoff_duration, "5s");
  EXPECT_EQ(a.sync_policy.retry->backoff_factor, 3);
  EXPECT_EQ(a.sync_policy.retry->backoff_max_duration, "3m");
  EXPECT_EQ(a.sync_policy.managed_namespace_labels.at("env"), "prod");
  ASSERT_EQ(a.ignore_differences.size(), 1u);
  EXPECT_EQ(a.ignore_differences[0].kind, "Deployment");
  EXPECT_EQ(a.ignore_differences[0].json_pointers, std::vector<std::string>{"/spec/replicas"});
  EXPECT_EQ(a.ignore_differences[0].managed_fields_managers, std::vector<std::string>{"hpa"});
  EXPECT_EQ(a.revision_history_limit, 3);
  EXPECT_EQ(a.info.at("owner"), "web-team");
  EXPECT_NE(o.source_json.find("\"operation\""), std::string::npos) << "operation is kept as JSON";
}

TEST(AppDecode, MultipleSourcesWithHelmAndARef) {
  auto d = decode(R"(  sources:
    - repoURL: https://git.example.com/charts.git
      path: charts/web
      helm:
        valueFiles: [$values/prod.yaml]
        values: "replicas: 2"
        parameters: [{name: image.tag, value: "1.2", forceString: true}]
        releaseName: web
        skipCrds: true
    - {repoURL: https://git.example.com/values.git, targetRevision: v1, ref: values}
)" + std::string(kDest));
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  const ApplicationSpec& a = *d.objects.at(0).app;
  EXPECT_TRUE(a.multi_source);
  ASSERT_EQ(a.sources.size(), 2u);
  ASSERT_TRUE(a.sources[0].helm);
  EXPECT_EQ(a.sources[0].helm->value_files[0], "$values/prod.yaml");
  EXPECT_EQ(a.sources[0].helm->values, "replicas: 2");
  EXPECT_EQ(a.sources[0].helm->parameters.at(0).name, "image.tag");
  EXPECT_TRUE(a.sources[0].helm->parameters.at(0).force_string);
  EXPECT_EQ(a.sources[0].helm->release_name, "web");
  EXPECT_TRUE(a.sources[0].helm->skip_crds);
  EXPECT_EQ(a.sources[1].ref, "values");
  EXPECT_EQ(a.project, "default") << "no project is the default project";
  EXPECT_EQ(a.destination.server, "https://kubernetes.default.svc");
}

TEST(AppDecode, DirectorySource) {
  auto d = decode("  source: {repoURL: r, directory: {recurse: true, include: '*.yaml', exclude: 'x.yaml'}}\n" +
                  std::string(kDest));
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  const AppSource& s = d.objects.at(0).app->sources.at(0);
  ASSERT_TRUE(s.directory);
  EXPECT_TRUE(s.directory->recurse);
  EXPECT_EQ(s.directory->include, "*.yaml");
  EXPECT_EQ(s.directory->exclude, "x.yaml");
}

TEST(AppDecode, MistakesNameTheirPath) {
  const std::string src = "  source: {repoURL: r, path: p}\n";
  EXPECT_EQ(only_error(decode("  source: {repoURL: r, pth: p}\n" + std::string(kDest))),
            "spec.source.pth: unknown field \"pth\"; did you mean \"path\"?");
  EXPECT_EQ(only_error(decode("  source: {path: p}\n" + std::string(kDest))),
            "spec.source.repoURL: a source needs a repoURL (the git repository's URL)");
  EXPECT_EQ(only_error(decode(src)),
            "spec.destination: an Application needs a destination (server or name, and namespace)");
  EXPECT_EQ(only_error(decode(src + "  destination: {namespace: web}\n")),
            "spec.destination: a destination needs a server (https://kubernetes.default.svc) or a name");
  EXPECT_EQ(only_error(decode(src + "  destination: {server: s, name: n}\n")),
            "spec.destination: a destination has a server or a name, not both");
  EXPECT_EQ(only_error(decode(std::string(kDest))),
            "spec.source: an Application needs a source (repoURL, path, targetRevision) or sources");
  EXPECT_EQ(only_error(decode(src + "  sources: [{repoURL: r}]\n" + kDest)),
            "spec.sources: an Application has source or sources, not both");
  EXPECT_EQ(only_error(decode(src + kDest + "  syncPolicy: {syncOptions: [CreateNamespaces=true]}\n")),
            "spec.syncPolicy.syncOptions[0]: unknown sync option \"CreateNamespaces=true\"; options are Name=value, "
            "Name one of CreateNamespace, PruneLast, ApplyOutOfSyncOnly, Replace, ServerSideApply, Validate, "
            "PrunePropagationPolicy, RespectIgnoreDifferences, FailOnSharedResource, SkipDryRunOnMissingResource "
            "(did you mean \"CreateNamespace\"?)");
  EXPECT_EQ(only_error(decode(src + kDest + "  syncPolicy: {automated: {prune: true, selfheal: true}}\n")),
            "spec.syncPolicy.automated.selfheal: unknown field \"selfheal\"; did you mean \"selfHeal\"?");
  EXPECT_EQ(only_error(decode(src + kDest + "  syncPolicy: {retry: {limit: x}}\n")),
            "spec.syncPolicy.retry.limit: must be an integer");
  EXPECT_EQ(only_error(decode(src + kDest + "  revisionHistoryLimit: -1\n")),
            "spec.revisionHistoryLimit: must not be negative");
  EXPECT_EQ(only_error(decode(src + kDest + "  ignoreDifferences: [{jsonPointers: [/a]}]\n")),
            "spec.ignoreDifferences[0].kind: an ignoreDifferences entry needs a kind");
}

TEST(AppDecode, HelmRepositoryChartsAreSources) {
  auto d = decode("  source: {repoURL: https://charts.example.com, chart: nginx, targetRevision: 1.0.0}\n" +
                  std::string(kDest));
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  ASSERT_EQ(d.objects.size(), 1u);
  EXPECT_EQ(d.objects[0].app->sources[0].chart, "nginx");
}

TEST(AppDecode, RefsAreCheckedAcrossSources) {
  EXPECT_EQ(only_error(decode("  source: {repoURL: r, ref: v}\n" + std::string(kDest))),
            "spec.source.ref: ref is only for spec.sources (it names a source for the others' values files)");
  EXPECT_EQ(only_error(decode("  sources: [{repoURL: r, ref: v}, {repoURL: q, ref: v}]\n" + std::string(kDest))),
            "spec.sources[1].ref: ref \"v\" names two sources; make each unique");
  EXPECT_EQ(only_error(decode("  sources: [{repoURL: r, ref: 'a/b'}]\n" + std::string(kDest))),
            "spec.sources[0].ref: ref \"a/b\" must be letters, digits, '-' or '_'");
  EXPECT_EQ(only_error(decode("  sources: [{repoURL: r, helm: {valueFiles: [$vals/x.yaml]}}]\n" + std::string(kDest))),
            "spec.sources[0]: values file \"$vals/x.yaml\" names ref \"vals\", which no source in spec.sources has");
}

TEST(AppDecode, OperationIsOnlyAnApplications) {
  auto d = decode_documents(
      "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: p}\nspec: {}\noperation: {}\n", "p.yaml");
  EXPECT_EQ(only_error(d), "operation: unknown field \"operation\": only an Application has one");
}

TEST(AppDecode, AppProject) {
  auto d = decode(R"(  description: the web team
  sourceRepos: ['https://git.example.com/*']
  destinations: [{server: https://kubernetes.default.svc, namespace: 'web-*'}]
  sourceNamespaces: [argocd, web]
  clusterResourceWhitelist: [{group: '', kind: Namespace}]
  namespaceResourceBlacklist: [{group: '', kind: ResourceQuota}]
  roles: [{name: ci, policies: ['p, proj:web:ci, applications, sync, web/*, allow']}]
)",
                  "AppProject");
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  const Object& o = d.objects.at(0);
  EXPECT_EQ(o.kind, Kind::kAppProject);
  ASSERT_TRUE(o.app_project);
  EXPECT_EQ(o.app_project->description, "the web team");
  EXPECT_EQ(o.app_project->source_repos.at(0), "https://git.example.com/*");
  EXPECT_EQ(o.app_project->destinations.at(0).namespace_, "web-*");
  EXPECT_EQ(o.app_project->source_namespaces.size(), 2u);
  EXPECT_EQ(o.app_project->cluster_resource_whitelist_json, R"([{"group":"","kind":"Namespace"}])");
  EXPECT_NE(o.app_project->namespace_resource_blacklist_json, "");
  EXPECT_EQ(only_error(decode("  sourceRepo: ['*']\n", "AppProject")),
            "spec.sourceRepo: unknown field \"sourceRepo\"; did you mean \"sourceRepos\"?");
}

TEST(AppDecode, WorkflowMessagesStillNameOnlyTheWorkflowKinds) {
  EXPECT_EQ(kind_names_text(), "Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow");
  EXPECT_EQ(kind_names_text(true),
            "Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow, Application or AppProject");
  auto d = decode_documents("apiVersion: argoproj.io/v1alpha1\nkind: Aplication\nmetadata: {name: a}\nspec: {}\n", "a.yaml");
  ASSERT_FALSE(d.diagnostics.empty());
  EXPECT_NE(d.diagnostics[0].message.find("(did you mean \"Application\"?)"), std::string::npos)
      << d.diagnostics[0].message;
}

}  // namespace
}  // namespace skiff::spec
