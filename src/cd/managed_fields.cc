#include "cd/managed_fields.h"

#include <algorithm>

namespace skiff::cd {
namespace {

using nlohmann::json;

// A set entry with nothing below it but "." names a whole field (a leaf of the set).
bool is_leaf(const json& set) {
  if (!set.is_object()) return true;
  for (auto it = set.begin(); it != set.end(); ++it)
    if (it.key() != ".") return false;
  return true;
}

// The index of `array`'s element that `key` ("k:{...}", "v:...", "i:N") names, or -1.
long element_index(const json& array, const std::string& key) {
  if (!array.is_array() || key.size() < 2) return -1;
  std::string body = key.substr(2);
  if (key[0] == 'i') {
    char* end = nullptr;
    long i = std::strtol(body.c_str(), &end, 10);
    return *end == '\0' && i >= 0 && static_cast<size_t>(i) < array.size() ? i : -1;
  }
  json wanted = json::parse(body, nullptr, false);
  if (wanted.is_discarded()) return -1;
  for (size_t i = 0; i < array.size(); ++i) {
    const json& element = array[i];
    if (key[0] == 'v' && element == wanted) return static_cast<long>(i);
    if (key[0] == 'k' && element.is_object() && wanted.is_object()) {
      bool match = true;
      for (auto it = wanted.begin(); it != wanted.end() && match; ++it) {
        auto found = element.find(it.key());
        // Keys are sometimes numbers on one side and strings on the other (ports).
        match = found != element.end() && (*found == *it || found->dump() == it->dump() ||
                                           (found->is_string() && found->get<std::string>() == it->dump()));
      }
      if (match) return static_cast<long>(i);
    }
  }
  return -1;
}

void walk(const json& set, const json& node, const std::string& pointer, std::vector<std::string>& out) {
  if (!set.is_object()) return;
  for (auto it = set.begin(); it != set.end(); ++it) {
    const std::string& key = it.key();
    if (key == "." || key.size() < 2 || key[1] != ':') continue;
    const json* child = nullptr;
    std::string child_pointer;
    if (key[0] == 'f') {
      std::string name = key.substr(2);
      if (!node.is_object() || !node.contains(name)) continue;
      child = &node[name];
      child_pointer = pointer + "/" + pointer_token(name);
    } else {
      long i = element_index(node, key);
      if (i < 0) continue;
      child = &node[static_cast<size_t>(i)];
      child_pointer = pointer + "/" + std::to_string(i);
    }
    if (is_leaf(it.value())) out.push_back(child_pointer);
    else walk(it.value(), *child, child_pointer, out);
  }
}

}  // namespace

std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::vector<std::string> owned_field_pointers(const json& live, const std::vector<std::string>& managers,
                                              bool apply_only) {
  std::vector<std::string> out;
  if (!live.is_object() || !live.contains("metadata") || !live["metadata"].is_object()) return out;
  const json& entries = live["metadata"].value("managedFields", json::array());
  if (!entries.is_array()) return out;
  for (const json& entry : entries) {
    if (!entry.is_object() || !entry.contains("manager") || !entry["manager"].is_string()) continue;
    std::string manager = entry["manager"].get<std::string>();
    if (std::find(managers.begin(), managers.end(), manager) == managers.end()) continue;
    if (apply_only && entry.value("operation", json()) != "Apply") continue;
    if (entry.contains("fieldsV1")) walk(entry["fieldsV1"], live, "", out);
  }
  return out;
}

json applied_by(const json& live, const std::string& manager) {
  json applied = json::object();
  for (const std::string& pointer : owned_field_pointers(live, {manager}, true)) {
    try {
      json::json_pointer p(pointer);
      applied[p] = live.at(p);
    } catch (const std::exception&) {
      // Sets that name a field and something inside it as leaves: keep the first.
    }
  }
  return applied;
}

}  // namespace skiff::cd
