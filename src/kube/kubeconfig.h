// Where the Kubernetes API server is and how to authenticate to it: a kubeconfig file's
// context (as kubectl reads it), or a Pod's service account (in-cluster).
//
// Supported: client certificates and keys, CA certificates (as files or *-data),
// insecure-skip-tls-verify, bearer tokens (token, tokenFile), basic auth, the context's
// namespace. Exec and auth-provider plugins are refused with a message naming the user.
// Relative file paths in a kubeconfig are relative to the kubeconfig's directory, as
// kubectl has them. Files are read once, at load. Stateless; any thread.
#pragma once

#include <string>

#include "net/http_client.h"
#include "util/status.h"

namespace skiff::kube {

struct ClusterConfig {
  std::string server;            // "https://127.0.0.1:16443"
  net::TlsOptions tls;           // CA data/file, client cert/key data/file, insecure-skip-tls-verify
  std::string bearer_token;      // token or tokenFile (read at load), or in-cluster token
  std::string username, password;
  std::string namespace_ = "default";  // the context's namespace
  std::string context;           // which context was used ("" in-cluster)
  std::string source;            // where it came from: a path, or "in-cluster"
};

// The context `context` of the kubeconfig at `path` ("" = its current-context).
Result<ClusterConfig> load_kubeconfig(const std::string& path, const std::string& context = "");

// A Pod's own view: KUBERNETES_SERVICE_HOST/PORT and the service account's token, ca.crt
// and namespace in /var/run/secrets/kubernetes.io/serviceaccount.
Result<ClusterConfig> in_cluster_config();
// The same, with the service account's files in `account_dir` (for tests).
Result<ClusterConfig> in_cluster_config_at(const std::string& account_dir);

// kubectl's order: `explicit_path` (a --kubeconfig flag) if set; else $KUBECONFIG; else
// in-cluster when KUBERNETES_SERVICE_HOST is set; else ~/.kube/config. kNotFound, saying
// how to configure one, when there is none.
Result<ClusterConfig> find_cluster_config(const std::string& explicit_path, const std::string& context = "");

}  // namespace skiff::kube
