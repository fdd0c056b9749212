// Argo CD's REST API for Applications and AppProjects (argo-cd's server/application and
// server/project services, as grpc-gateway serves them), over skiff's object store:
//   GET    /api/v1/applications?appNamespace=&projects=&selector=&name=   list
//   POST   /api/v1/applications[?upsert=true]        create (body: the Application itself)
//   GET    /api/v1/applications/{name}[?refresh=normal|hard]
//   PUT    /api/v1/applications/{name}               replace spec and metadata, status kept
//   PUT    /api/v1/applications/{name}/spec          replace the spec (body: the spec)
//   DELETE /api/v1/applications/{name}?cascade=&propagationPolicy=
//   POST   /api/v1/applications/{name}/sync          store a sync operation (409 while one runs)
//   POST   /api/v1/applications/{name}/rollback      a history entry's revision as the operation
//   DELETE /api/v1/applications/{name}/operation     ask the running operation to stop
//   GET    /api/v1/applications/{name}/resource-tree|managed-resources|manifests
//   GET    /api/v1/applications/{name}/logs|events   its Pods on this machine (app_workloads.h)
//   GET    /api/v1/stream/applications               Argo CD's watch stream
//   GET|POST /api/v1/projects, GET|PUT|DELETE /api/v1/projects/{name}
// Applications live in namespace "argocd" unless appNamespace names another; AppProjects
// always in "argocd". Status and operation state are the application controller's: a
// client's write keeps them as stored (compare-and-swap on metadata.resourceVersion when the
// client sends one). Errors are Argo CD's {error, code, message}. Every change pokes the
// controllers. Handlers run on the HTTP library's threads.
#pragma once

#include <string>

#include "server/api_context.h"
#include "server/http_util.h"
#include "server/template_routes.h"

namespace skiff::server {

// Argo CD's namespace for Applications and AppProjects.
inline constexpr const char kArgoCdNamespace[] = "argocd";
// The finalizer that makes a delete cascade to the Application's resources (with
// "/background" appended: deleted with background propagation).
inline constexpr const char kResourcesFinalizer[] = "resources-finalizer.argocd.argoproj.io";
// The annotation a refresh sets for the controller: "normal" or "hard".
inline constexpr const char kRefreshAnnotation[] = "argocd.argoproj.io/refresh";
inline constexpr const char* kSecretTypeLabel = "argocd.argoproj.io/secret-type";  // repository | repo-creds | cluster

void add_app_routes(httplib::Server& server, ApiContext& ctx);

// The object families of Applications (the project must exist; an update keeps the
// controller's status and operation) and AppProjects, for every writer of them
// (write_object: the routes, resource steps through LocalObjects). Both poke the controllers.
ObjectFamily app_family(ApiContext& ctx);
ObjectFamily project_family(ApiContext& ctx);

// Deletes an Application as Kubernetes deletes an object: one with finalizers (after adding
// `add_finalizer`, when not "") gets metadata.deletionTimestamp and is left to the
// controller, which removes its resources and then it; one without goes at once.
Status delete_application(ApiContext& ctx, const std::string& namespace_, const std::string& name,
                          const std::string& add_finalizer = "");

// The namespace an Argo CD path's request is about (appNamespace, else "argocd"), for auth.
std::string app_namespace_of(const httplib::Request& req);

}  // namespace skiff::server
