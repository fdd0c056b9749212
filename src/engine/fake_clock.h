// FakeClock: the engine's Clock for tests, moved by hand (test-only).
#pragma once

#include "engine/operator.h"

namespace skiff::engine {

class FakeClock : public Clock {
 public:
  int64_t now_ms() const override { return now; }
  int64_t now = 1'700'000'000'000;
};

}  // namespace skiff::engine
