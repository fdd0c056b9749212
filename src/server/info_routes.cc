#include "server/info_routes.h"

namespace skiff::server {

void add_info_routes(httplib::Server& s) {
  s.Get("/api/v1/version", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"version", "v3.6.0+skiff"}, {"buildDate", ""}, {"gitCommit", ""}, {"gitTag", "v3.6.0"},
                     {"gitTreeState", "clean"}, {"goVersion", ""}, {"compiler", "skiff"}, {"platform", "linux/amd64"}});
  });
  s.Get("/api/v1/info", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"managedNamespace", ""}, {"links", Json::array()}, {"modals", Json::object()}});
  });
  s.Get("/api/v1/userinfo", [](const httplib::Request&, httplib::Response& res) { reply(res, 200, Json::object()); });
}

}  // namespace skiff::server
