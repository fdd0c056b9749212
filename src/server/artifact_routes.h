// Argo Server's artifact downloads, streamed from the repository that holds each artifact:
//   GET /artifact-files/{ns}/workflows/{name}/{nodeId}/{outputs|inputs}/{artifact}[/{path...}]
//   GET /artifacts/{ns}/{name}/{nodeId}/{artifact}           (an output artifact, as stored)
//   GET /input-artifacts/{ns}/{name}/{nodeId}/{artifact}
// The object is sent as it is stored (a .tgz stays one), with a Content-Disposition naming
// its file. An artifact stored as a directory (archive: none) answers with a listing of its
// files, each a link to /artifact-files/.../{artifact}/{file}. A token, where the server
// asks for one, comes in the Authorization header or the `authorization` cookie (as Argo's
// UI sends it), and must allow the namespace.
#pragma once

#include <string>

#include "server/http_util.h"
#include "store/store.h"

namespace skiff::server {

void add_artifact_routes(httplib::Server& server, store::Store& store, const std::string& data_dir);

}  // namespace skiff::server
