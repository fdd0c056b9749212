#include "runtime/image_ref.h"

#include <algorithm>

#include "util/strings.h"

namespace skiff::runtime {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A path component: [a-z0-9]+ joined by '.', '_', '__' or runs of '-'.
bool valid_component(const std::string& part) {
  if (part.empty() || !lower_alnum(part.front()) || !lower_alnum(part.back())) return false;
  for (size_t i = 0; i < part.size(); ++i) {
    char c = part[i];
    if (lower_alnum(c)) continue;
    if (c == '-') continue;
    if (c == '.' || c == '_') {
      bool double_underscore = c == '_' && i + 1 < part.size() && part[i + 1] == '_';
      size_t next = i + (double_underscore ? 2 : 1);
      if (next >= part.size() || !lower_alnum(part[next])) return false;
      if (double_underscore) ++i;
      continue;
    }
    return false;
  }
  return true;
}

bool valid_tag(const std::string& tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag[0])) return false;
  return std::all_of(tag.begin(), tag.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool valid_host(const std::string& host) {
  if (host.empty() || host.size() > 255) return false;
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']') == std::string::npos) {  // host:port, port in digits
    std::string port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
}

}  // namespace

bool valid_digest(const std::string& digest) {
  if (digest.size() != 71 || !starts_with(digest, "sha256:")) return false;
  return std::all_of(digest.begin() + 7, digest.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string ImageRef::canonical() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageRef> parse_image_ref(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return invalid("image \"" + text + "\": " + why +
                   " (expected [registry/]name[:tag][@sha256:digest], e.g. busybox:1.36 or "
                   "registry.local:5000/team/app@sha256:...)");
  };
  if (text.empty()) return bad("empty image reference");
  if (text.size() > 512) return bad("longer than 512 characters");
  ImageRef ref;
  std::string rest = text;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest.resize(at);
    if (!valid_digest(ref.digest)) return bad("digest must be sha256: and 64 lowercase hex digits");
  }
  size_t slash = rest.find('/');
  std::string first = slash == std::string::npos ? "" : rest.substr(0, slash);
  if (!first.empty() && (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                         first == "localhost")) {
    ref.registry = first;
    rest = rest.substr(slash + 1);
    if (!valid_host(ref.registry)) return bad("registry host \"" + ref.registry + "\" is not valid");
  } else {
    ref.registry = "docker.io";
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") ref.registry = "docker.io";
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    ref.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!valid_tag(ref.tag)) return bad("tag \"" + ref.tag + "\" is not valid");
  } else if (ref.digest.empty()) {
    ref.tag = "latest";
  }
  if (rest.empty()) return bad("no repository name");
  for (const std::string& part : split(rest, '/')) {
    if (!valid_component(part)) {
      return bad("repository component \"" + part + "\" must be lowercase letters and digits, joined by . _ or -");
    }
  }
  if (ref.registry == "docker.io" && rest.find('/') == std::string::npos) rest = "library/" + rest;
  ref.repository = rest;
  if (ref.repository.size() > 255) return bad("repository name longer than 255 characters");
  return ref;
}

}  // namespace skiff::runtime
