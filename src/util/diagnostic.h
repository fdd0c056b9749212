// Diagnostics: user-facing problems with a source location (file:line:col) and a JSON
// path (spec.templates[2].dag.tasks[0].depends). Decoding and linting collect all of
// them rather than stopping at the first, so `skiff lint` reports everything at once.
#pragma once

#include <string>
#include <vector>

namespace skiff {

struct SourcePos {
  std::string file;  // as given by the user; may be "-" for stdin
  int line = 0;      // 1-based; 0 when unknown
  int col = 0;       // 1-based; 0 when unknown
};

struct Diagnostic {
  SourcePos pos;
  std::string path;     // JSON path inside the document, e.g. spec.templates[0].name
  std::string message;  // lower-case, says what is wrong and how to fix it

  // "ci.yaml:12:7: spec.templates[0].contaner: unknown field; did you mean \"container\"?"
  std::string format() const;
};

using Diagnostics = std::vector<Diagnostic>;

std::string format_all(const Diagnostics& diags);

}  // namespace skiff
