// Loading what the user names on the command line: spec files (many documents each) and
// parameters (-p name=value, --parameter-file). Shared by `run` and `lint`.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "spec/decode.h"
#include "spec/types.h"
#include "spec/validate.h"
#include "util/diagnostic.h"
#include "util/status.h"

namespace skiff::cli {

struct Loaded {
  std::deque<spec::Object> objects;  // deque: the library points into it
  spec::Library library;             // every WorkflowTemplate / ClusterWorkflowTemplate loaded
  std::vector<spec::ConfigDocument> configs;  // ConfigMaps and Secrets among the files
  Diagnostics diagnostics;
};

// Decodes every file; a file that cannot be read or parsed adds diagnostics.
void load_files(const std::vector<std::string>& files, Loaded& out);

// kInvalid naming the first ConfigMap or Secret among the files, for commands that send
// only workflow objects to a server (create them there with `skiff configmap|secret create`).
Status refuse_configs(const Loaded& loaded);

// Prints each warning to stderr: "warning: file:line:col: path: message".
void print_warnings(const Diagnostics& warnings);

// "-p name=value" flags over the entries of a YAML/JSON parameter file (a map).
Result<std::map<std::string, std::string>> load_parameters(const std::vector<std::string>& flags,
                                                           const std::string& parameter_file);

}  // namespace skiff::cli
