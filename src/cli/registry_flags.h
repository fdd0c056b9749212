// Flags shared by every command that pulls images (run, image pull, later server):
// where registries are, which mirrors to try, whom to trust, which credentials to use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/executor.h"
#include "runtime/registry.h"
#include "util/status.h"

namespace CLI {
class App;
}
namespace skiff::kube {
class Client;
}

namespace skiff::cli {

struct RegistryFlags {
  std::vector<std::string> mirrors;        // REGISTRY=URL[,URL]
  std::vector<std::string> docker_configs;  // docker config.json files
  std::string registries_file;             // skiff's registries.yaml
  std::vector<std::string> cas;            // HOST=CA.pem
  std::vector<std::string> plain_http;     // hosts allowed over http://
};

void add_registry_flags(CLI::App* cmd, RegistryFlags* flags);

// Which Kubernetes cluster `resource` steps act on (docs/kubernetes.md).
struct ClusterFlags {
  std::string kubeconfig;  // --kubeconfig FILE
  std::string context;     // --context NAME (else the kubeconfig's current-context)
  // --emissary-image: the image whose /bin/skiff-emissary a step's Pod runs through on the
  // kubernetes executor (`skiff image push-self` makes it); "" = skiff/skiff:latest. Other
  // executors warn that they ignore it.
  std::string emissary_image;
  // --managed-namespace: the kubernetes executor runs (and watches) Pods in this namespace
  // only, so a Role there is all the RBAC it needs (deploy/rbac-namespaced.yaml); the
  // server's Lease lives there too. "" = every namespace. Other executors warn.
  std::string managed_namespace;
};

void add_cluster_flags(CLI::App* cmd, ClusterFlags* flags);

// Flags first, then the registries file (--registries, else
// $XDG_CONFIG_HOME/skiff/registries.yaml if present), then docker config.json files
// (--registry-config, else $DOCKER_CONFIG/config.json or ~/.docker/config.json if present).
Result<runtime::RegistryConfig> registry_config(const RegistryFlags& flags);

// The cluster resource steps and Applications act on: --kubeconfig, else $KUBECONFIG, else
// the Pod's service account when skiff runs in one; null otherwise (~/.kube/config is not
// read unasked: a developer's cluster is never touched by accident). A bad kubeconfig is
// kInvalid.
Result<std::shared_ptr<kube::Client>> cluster_client(const ClusterFlags& flags);

// The executor `--executor KIND` asks for ("container" pulls through `registry`;
// "kubernetes" runs Pods on `cluster` with `emissary_image`, reading images' entrypoints
// through `registry`; else "host"), as `skiff run` and `skiff server` make it, inside the resource executor
// (runtime/resource_executor.h), which acts on `cluster` (null: none). `flags` gives the
// emissary image and managed namespace (ignored, with a warning, by other executors). A
// bad registry setting is kInvalid.
Result<std::unique_ptr<runtime::Executor>> make_executor(const std::string& kind, const RegistryFlags& registry,
                                                         std::shared_ptr<kube::Client> cluster,
                                                         const runtime::ExecutorOptions& options,
                                                         const ClusterFlags& flags = {});

// The container executor this machine's workloads (Applications' Deployments, Pods ...)
// run on, pulling through `registry`; kUnavailable saying why when containers cannot run.
Result<std::unique_ptr<runtime::Executor>> make_workload_executor(const RegistryFlags& registry,
                                                                  const runtime::ExecutorOptions& options);

}  // namespace skiff::cli
