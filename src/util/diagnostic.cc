#include "util/diagnostic.h"

namespace skiff {

std::string Diagnostic::format() const {
  std::string out;
  if (!pos.file.empty()) {
    out += pos.file;
    if (pos.line > 0) {
      out += ":" + std::to_string(pos.line);
      if (pos.col > 0) out += ":" + std::to_string(pos.col);
    }
    out += ": ";
  }
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string format_all(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) {
    out += d.format();
    out += '\n';
  }
  return out;
}

}  // namespace skiff
