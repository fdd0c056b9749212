#include "server/ui_routes.h"

#include <httplib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/http_util.h"

namespace skiff::server {
namespace {

constexpr size_t kMaxFile = 32 << 20;

const char* content_type(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
      {".png", "image/png"},                 {".ico", "image/x-icon"},
      {".json", "application/json"},         {".woff2", "font/woff2"},
      {".map", "application/json"},          {".txt", "text/plain; charset=utf-8"}};
  for (const auto& [ext, type] : kTypes) {
    if (path.size() >= std::strlen(ext) && path.compare(path.size() - std::strlen(ext), std::string::npos, ext) == 0) {
      return type;
    }
  }
  return "application/octet-stream";
}

// The file under `dir` that `url_path` names, or "" (never outside `dir`).
std::string file_for(const std::string& dir, const std::string& url_path) {
  if (url_path.empty() || url_path == "/") return "";
  for (const std::string& part : split_csv_by(url_path, '/')) {
    if (part.empty() || part[0] == '.' || part.size() > 255) return "";
  }
  std::string path = dir + url_path;
  std::error_code ec;
  auto st = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::is_regular_file(st) || std::filesystem::file_size(path, ec) > kMaxFile) return "";
  return path;
}

bool read(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return true;
}

constexpr char kNoBuild[] = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>skiff</title></head>
<body style="font-family: sans-serif; max-width: 42em; margin: 3em auto">
<h1>skiff server is running, but its web UI is not built</h1>
<p>No UI files were found (looked in: <code>%s</code>). Build them with
<code>./scripts/build</code> (it runs <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>
and installs the result beside the binary), or point the server at a build with
<code>skiff server --ui DIR</code>.</p>
<p>The API works without it: <a href="/api/v1/version">/api/v1/version</a>.</p>
</body></html>
)";

}  // namespace

std::string default_ui_dir() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::filesystem::path bin = std::filesystem::path(std::string(self, static_cast<size_t>(n))).parent_path();
  for (const auto& candidate : {bin / "ui", bin / ".." / "share" / "skiff" / "ui"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate / "index.html", ec)) {
      return std::filesystem::weakly_canonical(candidate, ec).string();
    }
  }
  return "";
}

void add_ui_routes(httplib::Server& s, const std::string& dir) {
  s.Get(R"(/.*)", [dir](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/", 0) == 0) {
      return fail(res, Status(Code::kNotFound, "no API path " + req.path));
    }
    std::string body;
    std::string file = dir.empty() ? "" : file_for(dir, req.path);
    if (!file.empty() && read(file, &body)) {
      // Vite's assets carry a content hash in their names: cache them for good.
      if (req.path.rfind("/assets/", 0) == 0) res.set_header("Cache-Control", "public, max-age=31536000, immutable");
      res.set_content(body, content_type(file));
      return;
    }
    if (!dir.empty() && read(dir + "/index.html", &body)) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(body, "text/html; charset=utf-8");
      return;
    }
    std::string page(kNoBuild);
    page.replace(page.find("%s"), 2, dir.empty() ? "beside the skiff binary: ui/, ../share/skiff/ui" : dir);
    res.status = req.path == "/" ? 200 : 404;
    res.set_content(page, "text/html; charset=utf-8");
  });
}

}  // namespace skiff::server
