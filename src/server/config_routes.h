// Secrets and ConfigMaps through the API (skiff's own paths, shaped like Kubernetes'), so
// a server's steps get their credentials without shell access to its machine:
//
//   POST   /api/v1/{secrets|configmaps}/{ns}         {"secret"|"configMap": {metadata, type, data, stringData}}
//   PUT    /api/v1/{secrets|configmaps}/{ns}/{name}  the same, replacing
//   GET    /api/v1/{secrets|configmaps}/{ns}[/{name}]
//   DELETE /api/v1/{secrets|configmaps}/{ns}/{name}
//
// A secret's values go in and never come out: replies list its type and keys only.
// ConfigMaps answer with their data. Stored in the server's data directory (see
// runtime/secret_store.h), where its executor reads them.
#pragma once

#include <string>

namespace httplib {
class Server;
}

namespace skiff::server {

void add_config_routes(httplib::Server& server, const std::string& data_dir);

}  // namespace skiff::server
