#include "runtime/host_executor.h"

#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <optional>

#include "runtime/process_executor.h"
#include "runtime/sandbox.h"
#include "runtime/supervisor.h"
#include "runtime/step_files.h"
#include "runtime/step_plan.h"
#include "runtime/volumes.h"

namespace skiff::runtime {
namespace {

class HostLauncher final : public Launcher {
 public:
  HostLauncher(std::string run_dir, PlanDefaults defaults) : run_dir_(std::move(run_dir)), defaults_(std::move(defaults)) {}

  Result<Launched> launch(const StepRequest& original) override {
    std::optional<ContainerSetPlan> set;
    if (original.tmpl.container_set) {
      auto planned = plan_container_set(original);
      if (!planned) return planned.status();
      set = std::move(*planned);
    }
    const StepRequest& request = set ? set->main_request : original;
    std::string step_dir = scratch_dir(run_dir_, request.node_id, ++sequence_);
    PlanDefaults defaults = defaults_;
    defaults.namespace_ = request.workflow->namespace_;
    defaults.server_paths.push_back(request.workflow->run_dir);
    defaults.server_paths = canonical_paths(defaults.server_paths);
    auto plan = plan_step(request, request.workflow->run_dir, step_dir, defaults);
    if (!plan) {
      remove_tree(step_dir);
      return plan.status();
    }
    Launched out;
    // Init containers: sandboxes of their own over the same step directory (so the same
    // emptyDirs, and here the same private /tmp), run in order before the main one.
    for (const auto& ic : request.tmpl.init_containers) {
      StepRequest sub = request;
      sub.tmpl.container = ic;
      sub.tmpl.init_containers.clear();
      sub.tmpl.outputs = {};
      sub.extra_mounts.clear();
      auto init_plan = plan_step(sub, request.workflow->run_dir, step_dir, defaults);
      if (!init_plan) {
        remove_tree(step_dir);
        return init_plan.status().with_context("init container " + ic.name);
      }
      InitProcess init;
      init.name = ic.name;
      init.use_sandbox = true;
      init.sandbox = std::move(init_plan->sandbox);
      init.sandbox.message_file.clear();  // the main container's termination message only
      init.sandbox.message_path.clear();
      init.log_path = sidecar_log(request.workflow->run_dir, request.node_id, ic.name);
      out.step.inits.push_back(std::move(init));
    }
    if (set) {  // the other containers: sandboxes of their own over the step directory, as init containers
      for (const auto& m : set->members) {
        auto member_plan = plan_step(m.request, request.workflow->run_dir, step_dir, defaults);
        if (!member_plan) {
          remove_tree(step_dir);
          return member_plan.status().with_context("container " + m.name);
        }
        InitProcess member;
        member.name = m.name;
        member.dependencies = m.dependencies;
        member.use_sandbox = true;
        member.sandbox = std::move(member_plan->sandbox);
        member.sandbox.message_file.clear();
        member.sandbox.message_path.clear();
        member.log_path = sidecar_log(request.workflow->run_dir, request.node_id, m.name);
        out.step.set.push_back(std::move(member));
      }
      out.step.set_main = set->main_name;
      out.step.set_main_dependencies = set->main_dependencies;
      out.step.set_retries = set->retries;
      out.step.set_retry_ms = set->retry_delay_ms;
    }
    out.ip = "127.0.0.1";  // the host's network
    out.step.use_sandbox = true;
    out.step.sandbox = std::move(plan->sandbox);
    out.step.output_files = std::move(plan->output_files);
    out.step.termination_log = std::move(plan->termination_log);
    out.step.fallback_to_logs = plan->fallback_to_logs;
    out.step.removes = {step_dir};
    return out;
  }

 private:
  std::string run_dir_;
  PlanDefaults defaults_;
  uint64_t sequence_ = 0;
};

std::string home_directory() {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &found) == 0 && found && found->pw_dir && *found->pw_dir) {
    return found->pw_dir;
  }
  return ::geteuid() == 0 ? "/root" : "/";
}

}  // namespace

Result<std::unique_ptr<Executor>> make_host_executor(const ExecutorOptions& options) {
  if (Status s = probe_sandbox(); !s) return s;
  ExecutorOptions opts = options;
  if (Status s = prepare_run_dir(&opts); !s) return s;
  // Step directories are created and removed thousands of times a run; on ext4 that slows
  // down as deleted inodes pile up. Keep them on a tmpfs that only this process (and its
  // steps) can see: a private mount namespace, entered before any thread exists.
  if (::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0)
    ::mount("tmpfs", steps_dir(opts.run_dir).c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  if (Status s = start_spawner(); !s) return s;
  PlanDefaults defaults;
  defaults.home = home_directory();
  // Steps run on this machine as its user would: with that user's PATH (pyenv,
  // ~/.local/bin, ...); a step's own env PATH still wins.
  if (const char* path = std::getenv("PATH"); path && *path) defaults.path = path;
  defaults.data_dir = opts.data_dir;
  defaults.allow_host_path = opts.allow_host_path;
  defaults.allow_privileged = opts.allow_privileged;
  defaults.server_paths = server_paths(opts, opts.run_dir);
  auto launcher = std::make_unique<HostLauncher>(opts.run_dir, std::move(defaults));
  return make_process_executor(std::move(opts), std::move(launcher));
}

}  // namespace skiff::runtime
