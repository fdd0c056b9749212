#include "runtime/secret_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "util/base64.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

std::string dir_of(const std::string& data_dir, ConfigKind kind, const std::string& ns) {
  return data_dir + (kind == ConfigKind::kSecret ? "/secrets/" : "/configmaps/") + ns;
}

}  // namespace

const char* kind_name(ConfigKind kind) { return kind == ConfigKind::kSecret ? "secret" : "configmap"; }

Status check_object_name(const std::string& what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 253 && name.front() != '.' && name.front() != '-' &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
            });
  if (ok) return Status::ok();
  return invalid(what + " name \"" + name + "\" must be lowercase letters, digits, '-' and '.' (a DNS subdomain)");
}

Status check_data_key(const std::string& what, const std::string& key) {
  bool ok = !key.empty() && key.size() <= 253 && key != "." && key != ".." &&
            std::all_of(key.begin(), key.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
            });
  if (ok) return Status::ok();
  return invalid(what + " key \"" + key + "\" must be letters, digits, '-', '_' and '.'");
}

Result<ConfigObject> read_config_object(const std::string& data_dir, ConfigKind kind, const std::string& ns,
                                        const std::string& name) {
  if (Status s = check_object_name(kind_name(kind), name); !s) return s;
  std::string path = dir_of(data_dir, kind, ns) + "/" + name + ".json";
  auto text = read_file_capped(path, 4 << 20);
  if (!text) {
    if (text.status().code() == Code::kNotFound || errno == ENOENT) {
      return not_found(std::string(kind_name(kind)) + " \"" + name + "\" not found in namespace " + ns +
                       "; create it with `skiff " + kind_name(kind) + " create " + name + " ...`");
    }
    return text.status();
  }
  ConfigObject obj;
  try {
    Json doc = Json::parse(*text);
    obj.type = doc.value("type", "Opaque");
    for (auto it = doc["data"].begin(); it != doc["data"].end(); ++it) {
      auto raw = base64_decode(it.value().get<std::string>());
      if (!raw) return internal_error(path + ": key " + it.key() + " is not base64");
      obj.data[it.key()] = std::move(*raw);
    }
    if (doc.contains("ownerReferences")) obj.owner_references_json = doc["ownerReferences"].dump();
    for (auto [field, to] : {std::pair{"labels", &obj.labels}, std::pair{"annotations", &obj.annotations}})
      if (doc.contains(field) && doc[field].is_object())
        for (auto it = doc[field].begin(); it != doc[field].end(); ++it)
          if (it.value().is_string()) (*to)[it.key()] = it.value().get<std::string>();
  } catch (const std::exception& e) {
    return internal_error(path + " is damaged: " + e.what());
  }
  return obj;
}

Status write_config_object(const std::string& data_dir, ConfigKind kind, const std::string& ns,
                           const std::string& name, const ConfigObject& object, bool replace) {
  if (Status s = check_object_name(kind_name(kind), name); !s) return s;
  if (Status s = check_object_name("namespace", ns); !s) return s;
  Json doc = {{"type", object.type}, {"data", Json::object()}};
  for (const auto& [k, v] : object.data) {
    if (Status s = check_data_key(kind_name(kind), k); !s) return s;
    doc["data"][k] = base64_encode(v);
  }
  if (!object.owner_references_json.empty()) {
    Json owners = Json::parse(object.owner_references_json, nullptr, false);
    if (!owners.is_array()) return invalid(std::string(kind_name(kind)) + " " + name + ": ownerReferences must be a list");
    doc["ownerReferences"] = owners;
  }
  if (!object.labels.empty()) doc["labels"] = object.labels;
  if (!object.annotations.empty()) doc["annotations"] = object.annotations;
  std::string dir = dir_of(data_dir, kind, ns);
  if (Status s = make_dirs(dir); !s) return s;
  ::chmod(dir.c_str(), 0700);
  std::string path = dir + "/" + name + ".json";
  struct stat st;
  if (!replace && ::stat(path.c_str(), &st) == 0) {
    return Status(Code::kAlreadyExists, std::string(kind_name(kind)) + " \"" + name + "\" already exists in namespace " + ns);
  }
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  if (Status s = write_file(tmp, doc.dump(), 0600); !s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_status("replacing " + path, errno);
  return Status::ok();
}

Status delete_config_object(const std::string& data_dir, ConfigKind kind, const std::string& ns,
                            const std::string& name) {
  if (Status s = check_object_name(kind_name(kind), name); !s) return s;
  std::string path = dir_of(data_dir, kind, ns) + "/" + name + ".json";
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return not_found(std::string(kind_name(kind)) + " \"" + name + "\" not found in namespace " + ns);
    return errno_status("removing " + path, errno);
  }
  return Status::ok();
}

std::map<std::string, ConfigObject> list_config_objects(const std::string& data_dir, ConfigKind kind,
                                                        const std::string& ns) {
  std::map<std::string, ConfigObject> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_of(data_dir, kind, ns), ec)) {
    std::string file = entry.path().filename().string();
    if (file.size() < 6 || file.substr(file.size() - 5) != ".json") continue;
    auto obj = read_config_object(data_dir, kind, ns, file.substr(0, file.size() - 5));
    if (obj) out[file.substr(0, file.size() - 5)] = std::move(*obj);
  }
  return out;
}

}  // namespace skiff::runtime
