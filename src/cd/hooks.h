// Argo CD's resource hooks and sync phases, as annotations on rendered objects: which
// phases a hook runs in, when it is deleted, its wave, and the name a generateName hook
// gets. Pure functions over the objects' JSON; any thread.
//
//   argocd.argoproj.io/hook: PreSync|Sync|PostSync|SyncFail|Skip (several, comma-separated)
//   helm.sh/hook: pre-install, pre-upgrade -> PreSync; post-install, post-upgrade -> PostSync
//     (read only when there is no argocd.argoproj.io/hook; other Helm hooks never run)
//   argocd.argoproj.io/hook-delete-policy: HookSucceeded, HookFailed, BeforeHookCreation
//     (helm.sh/hook-delete-policy: hook-succeeded, hook-failed, before-hook-creation);
//     none: BeforeHookCreation
//   argocd.argoproj.io/sync-wave, else helm.sh/hook-weight: the wave (default 0)
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace skiff::cd {

inline constexpr const char* kHookAnnotation = "argocd.argoproj.io/hook";
inline constexpr const char* kHelmHookAnnotation = "helm.sh/hook";
inline constexpr const char* kHookDeletePolicyAnnotation = "argocd.argoproj.io/hook-delete-policy";

// A sync operation's phases, in the order they run (SyncFail only when the sync fails).
enum class SyncPhase { kPreSync, kSync, kPostSync, kSyncFail };
const char* phase_name(SyncPhase phase);  // "PreSync", ...
std::optional<SyncPhase> phase_from_name(const std::string& name);

// Whether the object is a hook (either annotation), and so not one of the app's resources.
// A hook whose only type is Skip, or a Helm hook of a kind Argo CD does not map, is a hook
// with no phases: never applied.
bool is_hook(const nlohmann::json& object);
std::vector<SyncPhase> hook_phases(const nlohmann::json& object);

struct HookDeletePolicy {
  bool before_creation = false;  // the previous one is deleted before this one is created
  bool on_success = false;       // deleted when the operation succeeds
  bool on_failure = false;       // deleted when the operation fails
};
HookDeletePolicy hook_delete_policy(const nlohmann::json& object);

// argocd.argoproj.io/sync-wave, else helm.sh/hook-weight; 0 when neither is a number.
int sync_wave(const nlohmann::json& object);

// The name Argo CD gives a hook with only metadata.generateName:
// generateName + lower("<first 7 characters of the revision>-<phase>-<operation start, unix s>"),
// the same in every reconcile of one operation and new in the next operation.
std::string hook_name(const std::string& generate_name, const std::string& revision, SyncPhase phase,
                      int64_t started_unix);

}  // namespace skiff::cd
