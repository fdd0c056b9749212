// Internal to machine/controller*.cc: reads of this machine's objects shared by the Pod
// side (controller.cc) and the controllers over Pods (controller_owners.cc).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "util/json_text.h"

namespace skiff::machine::internal {

using Json = nlohmann::json;

inline std::string name_of(const Json& o) { return object_member(o, "metadata").value("name", ""); }
inline std::string ns_of(const Json& o) { return object_member(o, "metadata").value("namespace", ""); }
inline std::string uid_of(const Json& o) { return object_member(o, "metadata").value("uid", ""); }

// Runs `fn` on one object: a field of an unexpected type (nlohmann throws) skips that
// object, said once, and never stops the others.
template <class Fn>
void guarded(const Json& object, const Fn& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    static std::set<std::string> told;  // the controller thread's only
    std::string what = object.value("kind", "") + " " + ns_of(object) + "/" + name_of(object) + ": " + e.what();
    if (told.size() < 1000 && told.insert(what).second)
      std::fprintf(stderr, "skiff server: this machine cannot handle %s\n", what.c_str());
  }
}

}  // namespace skiff::machine::internal
