#include "kube/line_splitter.h"

namespace skiff::kube {

LineSplitter::Outcome LineSplitter::feed(std::string_view data,
                                         const std::function<bool(std::string_view line)>& on_line) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view piece = data.substr(0, nl);
    if (partial_.size() + piece.size() > max_line_) return Outcome::kTooLong;
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      return Outcome::kMore;
    }
    data.remove_prefix(nl + 1);
    bool more = true;
    if (partial_.empty()) {
      if (!piece.empty()) more = on_line(piece);
    } else {
      partial_.append(piece);
      std::string line = std::move(partial_);
      partial_.clear();
      more = on_line(line);
    }
    if (!more) return Outcome::kStopped;
  }
  return Outcome::kMore;
}

}  // namespace skiff::kube
