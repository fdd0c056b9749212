// Client: a Kubernetes API server's objects, any kind by apiVersion and kind (CRDs
// included), on the project's one HTTP client. Implements ObjectApi (get, create,
// replace, server-side apply, patch, delete) and adds list (all pages) and watch.
//
// Kinds are found by discovery (discovery.h: cached, read again once on a miss). A
// namespaced kind whose object names no namespace goes to `default_namespace`, or else
// the config's namespace; a cluster-scoped kind gets none. Requests are retried on 429
// and 5xx (transport.h); errors name the action and the object and carry the API's
// message ("create ConfigMap default/x: configmaps \"x\" already exists").
//
// Thread-safety: one Client may be shared by several threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "kube/discovery.h"
#include "kube/kubeconfig.h"
#include "kube/object_api.h"
#include "kube/transport.h"

namespace skiff::kube {

struct ListOptions {
  std::string label_selector;  // "app=web,tier!=db"
  std::string field_selector;  // "metadata.name=x"
  int64_t limit = 0;           // objects per page (all pages are read); 0 = the server's choice
};

struct WatchOptions {
  std::string label_selector, field_selector;
  std::string name;              // only this object (adds fieldSelector metadata.name=NAME)
  // Start after this resourceVersion. "" = list first: each object comes as ADDED, then
  // changes after the list's resourceVersion.
  std::string resource_version;
  bool allow_bookmarks = true;   // BOOKMARK events move the resume point; never passed on
  // How long the server keeps one connection open; the watch then reconnects from the
  // last resourceVersion it saw, as after a dropped connection. 0 = 5 minutes.
  int64_t timeout_seconds = 0;
  int max_reconnect_failures = 5;  // failed reconnections in a row before watch gives up
  std::function<bool()> cancelled;  // polled about once a second; true ends the watch (ok)
};

// Called with each event's type and object: "ADDED", "MODIFIED", "DELETED", or
// "RELISTED" with a whole list (as list() returns it) after the server said 410 Gone
// (the resume point was too old): the caller replaces what it knows with the list's
// items, which may miss deletions and changes it had not seen. Returns false to stop.
using WatchCallback = std::function<bool(const std::string& type, const nlohmann::json& object)>;

class Client : public ObjectApi {
 public:
  explicit Client(ClusterConfig config, RetryPolicy retry = {});
  ~Client() override;

  const ClusterConfig& config() const { return config_; }

  // The resource that serves `kind` in `api_version` (discovery.h).
  Result<ResourceInfo> resolve(const std::string& api_version, const std::string& kind);

  Result<nlohmann::json> get(const ObjectRef& ref, const std::string& default_namespace) override;
  Result<nlohmann::json> create(const nlohmann::json& object, const std::string& default_namespace) override;
  Result<nlohmann::json> replace(const nlohmann::json& object, const std::string& default_namespace) override;
  Result<nlohmann::json> apply(const nlohmann::json& object, const std::string& default_namespace,
                               const ApplyOptions& options) override;
  Result<nlohmann::json> patch(const ObjectRef& ref, const std::string& default_namespace, PatchType type,
                               const std::string& patch_json) override;
  Status remove(const ObjectRef& ref, const std::string& default_namespace, const DeleteOptions& options) override;

  // Every object of a kind in `namespace_` ("" = all namespaces), following `continue`
  // pages: {apiVersion, kind: "<Kind>List", metadata: {resourceVersion}, items: [...]},
  // each item with its apiVersion and kind.
  Result<nlohmann::json> list(const std::string& api_version, const std::string& kind, const std::string& namespace_,
                              const ListOptions& options = {});

  // A GET of `path` ("/api/v1/namespaces/x/pods/y/log?container=main") whose answer is
  // text rather than an object: a subresource such as a Pod's log. `context` starts its
  // errors ("log of Pod x/y").
  Result<std::string> get_text(const std::string& path, const std::string& context);

  // Streams changes to objects of a kind in `namespace_` ("" = all) to `callback` until it
  // returns false, `options.cancelled` says so (both ok), or an error: the kind is
  // unknown, the server refuses, or it cannot be reached max_reconnect_failures times in a
  // row. A dropped connection resumes from the last resourceVersion seen.
  Status watch(const std::string& api_version, const std::string& kind, const std::string& namespace_,
               const WatchOptions& options, const WatchCallback& callback);

 private:
  struct Target;
  Result<Target> target(const ObjectRef& ref, const std::string& default_namespace, const std::string& action);
  Result<nlohmann::json> send_object(const Target& t, ApiCall call);

  ClusterConfig config_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Discovery> discovery_;
};

// Runs `fn` again (up to `attempts` times in all, with a short pause) while it returns
// kConflict: for a read-modify-write that lost a race with another writer. `fn` reads the
// object afresh each time.
Status retry_on_conflict(const std::function<Status()>& fn, int attempts = 5);

}  // namespace skiff::kube
