// The web UI's files: `dir` holds a Vite build (index.html, assets/). A GET outside /api/
// and /metrics answers a file of `dir` when one has that name, else index.html, so the
// app's own routes (/workflows/{ns}/{name}, the link Hera's get_workflow_link gives) load
// it. Without a build, `/` says plainly how to make one. Files are read per request, so a
// rebuild needs no restart; names with "..", hidden files and anything but regular files
// are never served.
#pragma once

#include <string>

namespace httplib {
class Server;
}

namespace skiff::server {

// Registers the catch-all GET route: call after every other route.
void add_ui_routes(httplib::Server& server, const std::string& dir);

// Where the UI is when not given: <directory of the skiff binary>/ui (a build tree), then
// <that directory>/../share/skiff/ui (an installation). "" when neither has index.html.
std::string default_ui_dir();

}  // namespace skiff::server
