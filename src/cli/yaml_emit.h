// YAML rendering of a JSON document (nlohmann::json or ordered_json), for --output yaml:
// keys in the document's own order, strings as YAML chooses to quote them.
#pragma once

#include <string>
#include <yaml-cpp/yaml.h>

namespace skiff::cli {

template <class Json>
void emit_yaml(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit_yaml(out, it.value());
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& e : j) emit_yaml(out, e);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << j.template get<std::string>();
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

}  // namespace skiff::cli
