#include "cli/registry_flags.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "expr/eval.h"
#include "kube/client.h"
#include "runtime/artifact_executor.h"
#include "runtime/container_executor.h"
#include "runtime/host_executor.h"
#include "runtime/image_ref.h"
#include "runtime/image_store.h"
#include "runtime/kube_executor.h"
#include "runtime/agent_executor.h"
#include "runtime/resource_executor.h"

namespace skiff::cli {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string home() {
  const char* h = std::getenv("HOME");
  return h ? h : "/root";
}

}  // namespace

void add_registry_flags(CLI::App* cmd, RegistryFlags* flags) {
  cmd->add_option("--registry-mirror", flags->mirrors, "REGISTRY=URL[,URL]: try these mirrors first (e.g. docker.io=https://mirror.local)")->allow_extra_args(false);
  cmd->add_option("--registry-config", flags->docker_configs, "docker config.json with registry credentials (default ~/.docker/config.json)")->allow_extra_args(false);
  cmd->add_option("--registries", flags->registries_file, "registries file: mirrors and per-registry CA (default ~/.config/skiff/registries.yaml)");
  cmd->add_option("--registry-ca", flags->cas, "HOST=CA.pem: trust this CA for that registry")->allow_extra_args(false);
  cmd->add_option("--plain-http", flags->plain_http, "HOST: allow plain http:// for this registry")->allow_extra_args(false);
}

Result<runtime::RegistryConfig> registry_config(const RegistryFlags& flags) {
  runtime::RegistryConfig config;
  for (const auto& m : flags.mirrors) {
    if (Status s = runtime::add_mirror(&config, m); !s) return s;
  }
  for (const auto& c : flags.cas) {
    size_t eq = c.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == c.size()) {
      return invalid("--registry-ca \"" + c + "\": expected HOST=CA.pem");
    }
    std::string file = c.substr(eq + 1);
    if (!exists(file)) return invalid("--registry-ca " + c.substr(0, eq) + ": " + file + " does not exist");
    config.hosts[c.substr(0, eq)].ca_file = file;
  }
  for (const auto& h : flags.plain_http) config.hosts[h].plain_http = true;
  std::string registries = flags.registries_file;
  if (registries.empty()) {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    std::string candidate = (xdg ? std::string(xdg) : home() + "/.config") + "/skiff/registries.yaml";
    if (exists(candidate)) registries = candidate;
  }
  if (!registries.empty()) {
    runtime::RegistryConfig from_file;
    if (Status s = runtime::load_registries_file(&from_file, registries); !s) return s;
    for (auto& [reg, urls] : from_file.mirrors) {
      auto& list = config.mirrors[reg];
      list.insert(list.end(), urls.begin(), urls.end());
    }
    for (auto& [host, hc] : from_file.hosts) {
      auto& mine = config.hosts[host];
      if (mine.ca_file.empty()) mine.ca_file = hc.ca_file;
      mine.plain_http = mine.plain_http || hc.plain_http;
    }
  }
  std::vector<std::string> configs = flags.docker_configs;
  if (configs.empty()) {
    const char* dc = std::getenv("DOCKER_CONFIG");
    std::string candidate = (dc ? std::string(dc) : home() + "/.docker") + "/config.json";
    if (exists(candidate)) configs.push_back(candidate);
  }
  for (const auto& path : configs) {
    if (Status s = runtime::load_docker_config(&config, path); !s) return s;
  }
  return config;
}

void add_cluster_flags(CLI::App* cmd, ClusterFlags* flags) {
  cmd->add_option("--kubeconfig", flags->kubeconfig,
                  "kubeconfig of the cluster resource steps act on (default: $KUBECONFIG; none: only skiff's own kinds)");
  cmd->add_option("--context", flags->context, "the kubeconfig's context to use (default: its current-context)");
  cmd->add_option("--emissary-image", flags->emissary_image,
                  "--executor kubernetes: the image with skiff's in-Pod helper (`skiff image push-self`; default "
                  "skiff/skiff:latest)");
  cmd->add_option("--managed-namespace", flags->managed_namespace,
                  "--executor kubernetes: run and watch Pods in this namespace only (a Role there is enough: "
                  "deploy/rbac-namespaced.yaml); workflows of other namespaces fail. The server's Lease lives there too");
}

Result<std::shared_ptr<kube::Client>> cluster_client(const ClusterFlags& flags) {
  const char* env = std::getenv("KUBECONFIG");
  const char* in_pod = std::getenv("KUBERNETES_SERVICE_HOST");
  if (flags.kubeconfig.empty() && (!env || !*env) && (!in_pod || !*in_pod)) {
    if (!flags.context.empty()) return invalid("--context " + flags.context + " needs a kubeconfig: give --kubeconfig FILE");
    return std::shared_ptr<kube::Client>();
  }
  auto config = kube::find_cluster_config(flags.kubeconfig, flags.context);
  if (!config) return Status(Code::kInvalid, config.status().message());
  return std::make_shared<kube::Client>(std::move(*config));
}

namespace {

Result<std::unique_ptr<runtime::Executor>> make_step_executor(const std::string& kind, const RegistryFlags& registry,
                                                              std::shared_ptr<kube::Client> cluster,
                                                              const ClusterFlags& flags,
                                                              const runtime::ExecutorOptions& options) {
  if (kind == "kubernetes") {
    auto config = registry_config(registry);
    if (!config) return config.status();
    runtime::KubeOptions kube;
    kube.client = std::move(cluster);
    kube.pod.emissary_image = flags.emissary_image.empty() ? "skiff/skiff:latest" : flags.emissary_image;
    kube.managed_namespace = flags.managed_namespace;
    kube.image_lookup = [config = *config](const std::string& image) -> Result<runtime::ImageCommand> {
      auto c = runtime::remote_image_config(config, image);
      if (!c) return c.status();
      return runtime::ImageCommand{c->entrypoint, c->cmd};
    };
    return runtime::make_kube_executor(options, std::move(kube));
  }
  if (kind != "container") return runtime::make_host_executor(options);
  auto config = registry_config(registry);
  if (!config) return config.status();
  runtime::ContainerOptions container;
  container.registry = std::move(*config);
  return runtime::make_container_executor(options, container);
}

}  // namespace

Result<std::unique_ptr<runtime::Executor>> make_workload_executor(const RegistryFlags& registry,
                                                                  const runtime::ExecutorOptions& options) {
  if (Status s = runtime::probe_containers(runtime::ContainerOptions{}); !s) return s;
  return make_step_executor("container", registry, nullptr, ClusterFlags{}, options);
}

Result<std::unique_ptr<runtime::Executor>> make_executor(const std::string& kind, const RegistryFlags& registry,
                                                         std::shared_ptr<kube::Client> cluster,
                                                         const runtime::ExecutorOptions& options,
                                                         const ClusterFlags& flags) {
  if (kind != "kubernetes" && !flags.emissary_image.empty()) {
    std::fprintf(stderr, "warning: --emissary-image %s is ignored: only --executor kubernetes runs steps in Pods\n",
                 flags.emissary_image.c_str());
  }
  if (kind != "kubernetes" && !flags.managed_namespace.empty()) {
    std::fprintf(stderr, "warning: --managed-namespace %s is ignored: only --executor kubernetes runs steps in Pods\n",
                 flags.managed_namespace.c_str());
  }
  auto steps = make_step_executor(kind, registry, cluster, flags, options);
  if (!steps) return steps.status();
  runtime::ArtifactOptions artifacts;
  artifacts.data_dir = options.data_dir.empty()
                           ? std::filesystem::path(options.run_dir).parent_path().parent_path().string()  // as the executors
                           : options.data_dir;
  artifacts.run_dir = options.run_dir;
  artifacts.allow_local_git = options.allow_host_path;
  runtime::AgentOptions agent;  // http and data templates (runtime/agent_executor.h)
  agent.data_dir = artifacts.data_dir;
  agent.evaluate = [](const std::string& expression, const std::map<std::string, std::string>& vars) {
    expr::Scope scope;
    for (const auto& [name, json] : vars) scope.set_json(name, json);
    return expr::evaluate_to_json(expression, scope);
  };
  auto with_artifacts = std::make_unique<runtime::AgentExecutor>(
      std::make_unique<runtime::ArtifactExecutor>(std::move(*steps), std::move(artifacts)), std::move(agent));
  runtime::ResourceTargets targets;
  if (cluster) targets.cluster_name = "the cluster at " + cluster->config().server;
  targets.cluster = std::move(cluster);
  return std::unique_ptr<runtime::Executor>(std::make_unique<runtime::ResourceExecutor>(std::move(with_artifacts), std::move(targets)));
}

}  // namespace skiff::cli
