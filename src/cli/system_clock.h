// The real clock for the engine (engine/operator.h's Clock), read from the system.
#pragma once

#include "engine/operator.h"

namespace skiff::cli {

class SystemClock : public engine::Clock {
 public:
  int64_t now_ms() const override;
};

}  // namespace skiff::cli
