// The clusters Applications may deploy to besides the server's own (--kubeconfig), kept as
// Argo CD keeps them: Secrets in the argocd namespace labelled
// argocd.argoproj.io/secret-type: cluster, whose data holds
//   name     the cluster's name (what destination.name refers to)
//   server   its API server's URL (what destination.server refers to)
//   config   JSON: {bearerToken | username + password, tlsClientConfig {caData, certData,
//            keyData (base64 PEM), insecure, serverName}}
// A Secret of argocd with `server` and `config` keys counts without the label too (one made
// with `skiff secret create`, which sets no labels). One kube::Client per secret, made again
// when the secret changes. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kube/client.h"
#include "util/status.h"

namespace skiff::server {

class ClusterSecrets {
 public:
  explicit ClusterSecrets(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  // The cluster whose secret has this `server` URL (or, when server is "", this `name`).
  // kNotFound with Argo CD's message when no secret names it; kInvalid naming the secret and
  // field when its config cannot be used (exec and AWS auth are not supported).
  Result<std::shared_ptr<kube::Client>> find(const std::string& server, const std::string& name);

 private:
  std::string data_dir_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<kube::Client>>> clients_;  // secret -> (its data, client)
};

}  // namespace skiff::server
