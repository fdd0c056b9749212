// Strict decoding of Argo objects from YAML (one or many documents) or JSON.
//
// Every unknown field is a diagnostic naming its JSON path and the nearest known field;
// every wrong type (a list where a map belongs, a map where a string belongs) is one too.
// Decoding never stops at the first problem: it returns what it could decode and all the
// diagnostics, so `skiff lint` reports everything at once. Stateless and thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "spec/types.h"
#include "util/diagnostic.h"
#include "util/status.h"

namespace skiff::spec {

struct DecodeLimits {
  size_t max_bytes = 16 << 20;  // refuse documents larger than this
  int max_depth = 64;           // nesting depth of maps and lists
  size_t max_documents = 1000;
  size_t max_nodes = 2'000'000;  // maps, lists and scalars in all documents, aliases expanded
  int parse_timeout_ms = 10000;   // the YAML parser's deadline, plus 1 s per MB (see decode.cc)
};

// A ConfigMap or Secret document (apiVersion v1) among a file's workflow objects, as
// `kubectl apply -f` would take it: what `skiff run` makes available to its steps.
struct ConfigDocument {
  bool secret = false;
  std::string name, namespace_;
  std::string type;  // secrets: Opaque unless given
  std::map<std::string, std::string> data;  // key -> raw bytes (a Secret's data base64-decoded; stringData as is)
  std::map<std::string, std::string> labels, annotations;
  SourcePos pos;
};

struct Decoded {
  std::vector<Object> objects;
  std::vector<ConfigDocument> configs;  // ConfigMaps and Secrets, in file order
  Diagnostics diagnostics;  // empty when every document decoded cleanly
};

// `file` is used only for diagnostics. Documents that are empty (a lone `---`) are skipped.
Decoded decode_documents(std::string_view text, const std::string& file,
                         const DecodeLimits& limits = {});

// The one object (or JSON patch list) that YAML or JSON text holds, as JSON text, with
// YAML's scalars typed as Kubernetes reads them: a resource step's manifest. kInvalid says
// what is wrong and where (`file` names the text: "resource manifest of step x").
Result<std::string> manifest_to_json(std::string_view text, const std::string& file, const DecodeLimits& limits = {});

// Every non-empty document of YAML or JSON text, each as JSON text typed as above (Argo
// CD's manifest files, kustomize's and helm's output). kInvalid names file:line.
Result<std::vector<std::string>> manifests_to_json(std::string_view text, const std::string& file,
                                                   const DecodeLimits& limits = {});

// Reads and decodes a file ("-" reads stdin).
Decoded decode_file(const std::string& path, const DecodeLimits& limits = {});

// Decodes one template from JSON text (used for a task's `inline` template).
Result<Template> decode_template_json(std::string_view json, const SourcePos& pos);

}  // namespace skiff::spec
