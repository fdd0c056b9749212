// Local Secrets and ConfigMaps: what steps read through secret/configMap volumes,
// env valueFrom/envFrom and imagePullSecrets, kept as Kubernetes would per namespace.
//
//   <data>/secrets/<namespace>/<name>.json      {"type": ..., "data": {key: base64}, "ownerReferences"?,
//                                                "labels"?, "annotations"?}  (0600)
//   <data>/configmaps/<namespace>/<name>.json   {"data": {key: base64}, ... the same}  (0600)
//
// Names and keys follow Kubernetes' rules (DNS subdomain names; keys [-._a-zA-Z0-9]+), so
// neither can name a path outside the store or a volume.
#pragma once

#include <map>
#include <string>

#include "util/status.h"

namespace skiff::runtime {

enum class ConfigKind { kSecret, kConfigMap };

struct ConfigObject {
  std::string type = "Opaque";  // secrets only: Opaque, kubernetes.io/dockerconfigjson
  std::map<std::string, std::string> data;  // key -> raw bytes
  // metadata.ownerReferences as JSON ("" when none): a resource step's setOwnerReference,
  // by which the object goes when its workflow does (server/local_objects.h).
  std::string owner_references_json;
  // metadata.labels and metadata.annotations (an Application's tracking annotation, Argo CD's
  // argocd.argoproj.io/secret-type label).
  std::map<std::string, std::string> labels, annotations;
};

const char* kind_name(ConfigKind kind);  // "secret" / "configmap"

Status check_object_name(const std::string& what, const std::string& name);
Status check_data_key(const std::string& what, const std::string& key);

Result<ConfigObject> read_config_object(const std::string& data_dir, ConfigKind kind, const std::string& namespace_,
                                        const std::string& name);
// Fails with kAlreadyExists unless `replace`.
Status write_config_object(const std::string& data_dir, ConfigKind kind, const std::string& namespace_,
                           const std::string& name, const ConfigObject& object, bool replace);
Status delete_config_object(const std::string& data_dir, ConfigKind kind, const std::string& namespace_,
                            const std::string& name);
std::map<std::string, ConfigObject> list_config_objects(const std::string& data_dir, ConfigKind kind,
                                                        const std::string& namespace_);

}  // namespace skiff::runtime
