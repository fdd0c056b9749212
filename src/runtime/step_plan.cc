#include "runtime/step_plan.h"

#include <sys/stat.h>

#include "runtime/fd.h"
#include "runtime/volumes.h"

namespace skiff::runtime {
namespace {

const std::string* lookup(const std::vector<std::pair<std::string, std::string>>& vars, std::string_view name) {
  for (auto it = vars.rbegin(); it != vars.rend(); ++it) {
    if (it->first == name) return &it->second;
  }
  return nullptr;
}

void set_var(std::vector<std::pair<std::string, std::string>>& vars, const std::string& name, std::string value) {
  for (auto& v : vars) {
    if (v.first == name) {
      v.second = std::move(value);
      return;
    }
  }
  vars.emplace_back(name, std::move(value));
}

Status check_env_name(const std::string& name) {
  if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
    return invalid("env \"" + name + "\": not a valid environment variable name");
  }
  return Status::ok();
}

}  // namespace

std::string file_name_for(const std::string& node_id) {
  std::string out;
  out.reserve(node_id.size());
  for (char c : node_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  if (out.size() > 200) out.resize(200);
  return out;
}

std::string expand_vars(const std::string& text, const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    char next = text[i + 1];
    if (next == '$') {
      out += '$';
      ++i;
    } else if (next == '(') {
      size_t close = text.find(')', i + 2);
      if (close == std::string::npos) {
        out += text.substr(i);
        break;
      }
      std::string_view name(text.data() + i + 2, close - i - 2);
      if (const std::string* value = lookup(vars, name)) {
        out += *value;
      } else {
        out.append(text, i, close - i + 1);
      }
      i = close;
    } else {
      out += '$';
    }
  }
  return out;
}

Result<StepPlan> plan_step(const StepRequest& request, const std::string& run_dir, const std::string& step_dir,
                           const PlanDefaults& defaults) {
  if (!request.tmpl.container) {
    return invalid("template " + request.tmpl.name + ": the host executor runs container and script templates only");
  }
  const spec::Container& c = *request.tmpl.container;
  const bool script = !c.source.empty();
  StepPlan plan;
  std::string name = file_name_for(request.node_id);
  plan.step_dir = step_dir;
  plan.log_path = run_dir + "/logs/" + name + ".log";
  SandboxSpec& sb = plan.sandbox;
  sb.tmp_dir = plan.step_dir + "/tmp";
  sb.hostname = (request.pod_name.empty() ? name : request.pod_name).substr(0, 63);

  // Environment first: command and args may refer to it with $(VAR).
  std::vector<std::pair<std::string, std::string>> vars = {
      {"PATH", defaults.path}, {"HOME", defaults.home}, {"HOSTNAME", sb.hostname}};
  for (const auto& e : c.env) {
    if (Status s = check_env_name(e.name); !s) return s;
    if (!e.value_from_json.empty()) {
      return invalid("env " + e.name + ": valueFrom needs --executor container");
    }
    set_var(vars, e.name, expand_vars(e.value.value_or(""), vars));
  }
  for (const auto& [k, v] : vars) sb.env.push_back(k + "=" + v);

  std::vector<std::string> argv = c.command;
  if (script && argv.empty()) argv.push_back("sh");
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  if (script) argv.push_back(kScriptPath);
  if (argv.empty()) return invalid("container has no command: host executor needs command or args");
  for (auto& arg : argv) sb.argv.push_back(expand_vars(arg, vars));
  if (sb.argv[0].empty()) return invalid("container command is an empty string");

  if (Status s = make_dirs(sb.tmp_dir); !s) return s.with_context("creating the step's private /tmp");
  ::chmod(sb.tmp_dir.c_str(), 01777);

  auto mounts = resolve_mounts(request, run_dir, plan.step_dir, sb.tmp_dir);
  if (!mounts) return mounts.status();
  sb.mounts = std::move(*mounts);

  if (script) {
    std::string file = host_path(sb.mounts, sb.tmp_dir, kScriptPath);
    if (Status s = make_dirs(file.substr(0, file.find_last_of('/'))); !s) return s.with_context("script");
    if (Status s = write_file(file, c.source, 0755); !s) return s.with_context("script");
  }

  sb.working_dir = "/tmp";  // no image WORKDIR on the host; the private tmp keeps the host clean
  if (!c.working_dir.empty()) {
    auto wd = clean_absolute_path(expand_vars(c.working_dir, vars));
    if (!wd) return wd.status().with_context("workingDir");
    sb.working_dir = *wd;
  }

  for (const auto& p : request.tmpl.outputs.parameters) {
    if (!p.value_from || p.value_from->path.empty()) continue;
    auto path = clean_absolute_path(p.value_from->path);
    if (!path) return path.status().with_context("output parameter " + p.name + ": valueFrom.path");
    plan.output_files.emplace_back(p.name, host_path(sb.mounts, sb.tmp_dir, *path));
  }
  return plan;
}

}  // namespace skiff::runtime
