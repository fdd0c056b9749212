// The Kubernetes executor (`--executor kubernetes`): every step is a Pod in its workflow's
// namespace (kube_pod.h builds it), on a cluster reached through kube::Client.
//
// Watch-driven: one watch on the Pods skiff labels (workflows.argoproj.io/workflow) feeds
// wait(); a small pool of threads makes the API calls (create, delete, the outputs from the
// `wait` container's log), so start() and kill() never block the run loop. A step's outputs
// stay in its Pod until it is collected (podGC), so a step that ends while no server runs
// loses nothing: start() with `adopt` follows the Pod an earlier server made.
// docs/kubernetes-executor.md says what a Pod holds and which Argo messages map from what.
#pragma once

#include <memory>

#include "runtime/executor.h"
#include "runtime/kube_pod.h"

namespace skiff::kube {
class Client;
}

namespace skiff::runtime {

struct KubeOptions {
  std::shared_ptr<kube::Client> client;
  PodOptions pod;
  ImageLookup image_lookup;  // ENTRYPOINT/CMD of an image (through its registry), cached by the executor
  int api_threads = 4;       // concurrent API calls (Pod creates, deletes, log reads)
  // --managed-namespace: "" = every namespace (one cluster-wide watch: a ClusterRole);
  // else the watch and every list stay in this namespace (a Role there is enough) and a
  // step of a workflow in any other namespace fails at once, saying so.
  std::string managed_namespace;
};

// Fails when the cluster cannot be reached or does not let skiff list Pods (in the
// managed namespace when there is one).
Result<std::unique_ptr<Executor>> make_kube_executor(const ExecutorOptions& options, KubeOptions kube);

}  // namespace skiff::runtime
