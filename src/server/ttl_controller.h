// TtlController: deletes finished workflows when their ttlStrategy says (Argo's
// secondsAfterCompletion / secondsAfterSuccess / secondsAfterFailure). The runner tells it
// each workflow that finishes with one (add); on its first tick it reads those a previous
// server left finished in the store. It wakes at the earliest due time.
//
// Threads: add() from any thread (the runner's); tick() and next_wakeup_ms() on the
// controller loop's.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "server/controller.h"
#include "store/store.h"
#include "util/status.h"

namespace skiff::server {

class TtlController final : public Controller {
 public:
  // Deletes a workflow with its logs.
  using Remove = std::function<Status(const std::string& namespace_, const std::string& name)>;

  TtlController(store::Store& store, const engine::Clock& clock, Remove remove)
      : store_(store), clock_(clock), remove_(std::move(remove)) {}

  // The workflow `namespace_/name` goes at `due_ms` (epoch ms).
  void add(const std::string& namespace_, const std::string& name, int64_t due_ms);

  void tick() override;
  int64_t next_wakeup_ms() const override;

 private:
  void load();

  store::Store& store_;
  const engine::Clock& clock_;
  Remove remove_;
  bool loaded_ = false;
  mutable std::mutex mu_;
  std::multimap<int64_t, std::pair<std::string, std::string>> due_;  // due ms -> (namespace, name)
};

}  // namespace skiff::server
