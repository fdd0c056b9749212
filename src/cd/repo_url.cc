#include "cd/repo_url.h"

#include <cctype>

namespace skiff::cd {

std::string normalize_repo_url(std::string_view url) {
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front()))) url.remove_prefix(1);
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.remove_suffix(1);
  std::string_view host, path;
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    std::string_view rest = url.substr(scheme + 3);
    size_t slash = rest.find('/');
    host = rest.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (size_t at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    if (host.size() && host.front() != '[') host = host.substr(0, host.find(':'));  // the port
    else if (size_t close = host.find(']'); close != std::string_view::npos) host = host.substr(0, close + 1);
  } else if (size_t colon = url.find(':'); colon != std::string_view::npos && url.front() != '/' &&
                                           url.substr(0, colon).find('/') == std::string_view::npos) {
    host = url.substr(0, colon);  // scp-like user@host:path
    if (size_t at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    path = url.substr(colon + 1);
  } else {
    path = url;  // a local path
  }
  std::string out;
  for (char c : host) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string p(path);
  auto trim_slashes = [&p] {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
  };
  trim_slashes();
  if (p.size() > 4 && p.compare(p.size() - 4, 4, ".git") == 0) p.resize(p.size() - 4);
  trim_slashes();
  if (!p.empty() && p.front() != '/') p.insert(p.begin(), '/');
  return out + p;
}

bool same_repo(std::string_view a, std::string_view b) { return normalize_repo_url(a) == normalize_repo_url(b); }

}  // namespace skiff::cd
