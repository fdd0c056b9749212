#include "server/ttl_controller.h"

#include <vector>

#include "server/runner.h"
#include "spec/decode.h"

namespace skiff::server {

void TtlController::add(const std::string& ns, const std::string& name, int64_t due_ms) {
  std::lock_guard<std::mutex> guard(mu_);
  due_.emplace(due_ms, std::make_pair(ns, name));
}

// The finished workflows whose own spec carries a ttlStrategy.
void TtlController::load() {
  store::ListQuery q;
  q.label_selector = "workflows.argoproj.io/completed=true";
  q.limit = 1000;
  for (;;) {
    auto page = store_.list_workflows(q);
    if (!page) return;
    for (const auto& wf : page->items) {
      if (wf.object.find("ttlStrategy") == std::string::npos) continue;
      spec::Decoded d = spec::decode_documents(wf.object, wf.name);
      if (d.objects.size() != 1) continue;
      int64_t due = Runner::expiry(d.objects[0].spec, wf.phase, wf.finished_ms);
      if (due >= 0) add(wf.namespace_, wf.name, due);
    }
    if (page->continue_token.empty()) return;
    q.continue_token = page->continue_token;
  }
}

void TtlController::tick() {
  if (!loaded_) {
    load();
    loaded_ = true;
  }
  std::vector<std::pair<std::string, std::string>> due;
  {
    std::lock_guard<std::mutex> guard(mu_);
    int64_t now = clock_.now_ms();
    while (!due_.empty() && due_.begin()->first <= now) {
      due.push_back(due_.begin()->second);
      due_.erase(due_.begin());
    }
  }
  for (const auto& [ns, name] : due) (void)remove_(ns, name);
}

int64_t TtlController::next_wakeup_ms() const {
  std::lock_guard<std::mutex> guard(mu_);
  return due_.empty() ? -1 : due_.begin()->first;
}

}  // namespace skiff::server
