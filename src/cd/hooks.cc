#include "cd/hooks.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cd/sync.h"
#include "util/json_text.h"

namespace skiff::cd {
namespace {

using Json = nlohmann::json;

std::string annotation(const Json& object, const char* key) {
  const Json a = object_member(object_member(object, "metadata"), "annotations");
  if (!a.is_object() || !a.contains(key) || !a[key].is_string()) return "";
  return a[key].get<std::string>();
}

bool has_annotation(const Json& object, const char* key) {
  const Json a = object_member(object_member(object, "metadata"), "annotations");
  return a.is_object() && a.contains(key);
}

// "a, b,c" -> {"a", "b", "c"}
std::vector<std::string> csv(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<int> number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

const char* phase_name(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::kPreSync: return "PreSync";
    case SyncPhase::kSync: return "Sync";
    case SyncPhase::kPostSync: return "PostSync";
    case SyncPhase::kSyncFail: return "SyncFail";
  }
  return "Sync";
}

std::optional<SyncPhase> phase_from_name(const std::string& name) {
  for (SyncPhase p : {SyncPhase::kPreSync, SyncPhase::kSync, SyncPhase::kPostSync, SyncPhase::kSyncFail})
    if (name == phase_name(p)) return p;
  return std::nullopt;
}

bool is_hook(const Json& object) {
  return has_annotation(object, kHookAnnotation) || has_annotation(object, kHelmHookAnnotation);
}

std::vector<SyncPhase> hook_phases(const Json& object) {
  std::vector<SyncPhase> out;
  auto add = [&](SyncPhase p) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  if (has_annotation(object, kHookAnnotation)) {
    std::vector<std::string> types = csv(annotation(object, kHookAnnotation));
    for (const auto& t : types)
      if (auto p = phase_from_name(t)) add(*p);
    return out;  // Skip, or nothing Argo CD knows: never applied
  }
  for (const auto& t : csv(annotation(object, kHelmHookAnnotation))) {
    if (t == "pre-install" || t == "pre-upgrade") add(SyncPhase::kPreSync);
    if (t == "post-install" || t == "post-upgrade") add(SyncPhase::kPostSync);
  }
  return out;
}

HookDeletePolicy hook_delete_policy(const Json& object) {
  HookDeletePolicy p;
  bool any = false;
  auto read = [&](const std::vector<std::string>& items) {
    for (const auto& i : items) {
      if (i == "BeforeHookCreation" || i == "before-hook-creation") p.before_creation = any = true;
      if (i == "HookSucceeded" || i == "hook-succeeded") p.on_success = any = true;
      if (i == "HookFailed" || i == "hook-failed") p.on_failure = any = true;
    }
  };
  read(csv(annotation(object, kHookDeletePolicyAnnotation)));
  read(csv(annotation(object, "helm.sh/hook-delete-policy")));
  if (!any) p.before_creation = true;
  return p;
}

int sync_wave(const Json& object) {
  if (auto w = number(annotation(object, kSyncWaveAnnotation))) return *w;
  if (auto w = number(annotation(object, "helm.sh/hook-weight"))) return *w;
  return 0;
}

std::string hook_name(const std::string& generate_name, const std::string& revision, SyncPhase phase,
                      int64_t started_unix) {
  std::string postfix = revision.substr(0, 7) + "-" + phase_name(phase) + "-" + std::to_string(started_unix);
  std::transform(postfix.begin(), postfix.end(), postfix.begin(), [](unsigned char c) { return std::tolower(c); });
  return generate_name + postfix;
}

}  // namespace skiff::cd
