// What the argo CLI and the UI ask about the server itself: GET /api/v1/version,
// /api/v1/info and /api/v1/userinfo, in Argo Server's shapes. Stateless.
#pragma once

#include "server/http_util.h"

namespace skiff::server {

void add_info_routes(httplib::Server& server);

}  // namespace skiff::server
