#include "server/client_limits.h"

namespace skiff::server {

ClientLimits::Slot& ClientLimits::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    client_ = std::move(other.client_);
    stream_ = other.stream_;
    other.owner_ = nullptr;
  }
  return *this;
}

void ClientLimits::Slot::release() {
  if (owner_) owner_->give_back(client_, stream_);
  owner_ = nullptr;
}

ClientLimits::Slot ClientLimits::connect(const std::string& client) { return take(client, false); }

ClientLimits::Slot ClientLimits::open_stream(const std::string& client) { return take(client, true); }

ClientLimits::Slot ClientLimits::take(const std::string& client, bool stream) {
  std::lock_guard<std::mutex> lock(mu_);
  Counts& counts = clients_[client];
  size_t& held = stream ? counts.streams : counts.connections;
  Slot slot;
  if (held >= (stream ? max_streams_ : max_connections_)) {
    if (counts.connections == 0 && counts.streams == 0) clients_.erase(client);
    return slot;
  }
  ++held;
  ++(stream ? streams_ : connections_);
  slot.owner_ = this;
  slot.client_ = client;
  slot.stream_ = stream;
  return slot;
}

void ClientLimits::give_back(const std::string& client, bool stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  --(stream ? it->second.streams : it->second.connections);
  --(stream ? streams_ : connections_);
  if (it->second.connections == 0 && it->second.streams == 0) clients_.erase(it);
}

size_t ClientLimits::streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_;
}

size_t ClientLimits::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

}  // namespace skiff::server
