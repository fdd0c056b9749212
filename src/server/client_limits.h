// ClientLimits: how many connections, and how many of them long-lived streams, each client
// address may hold at once. Every connection costs the server a thread, so one client
// opening thousands would crowd out the others; a client over its share is refused (a
// connection is closed, a stream answered 429) while everyone else is served.
//
// A Slot counts one connection or stream for as long as it lives.
// Thread-safe: connections on their own threads take and drop slots.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace skiff::server {

class ClientLimits {
 public:
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept { *this = std::move(other); }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void release();

   private:
    friend class ClientLimits;
    ClientLimits* owner_ = nullptr;
    std::string client_;
    bool stream_ = false;
  };

  ClientLimits(size_t max_connections, size_t max_streams)
      : max_connections_(max_connections), max_streams_(max_streams) {}

  // A connection from `client` (its address); an empty Slot when it already holds
  // max_connections.
  Slot connect(const std::string& client);
  // A stream for `client`; an empty Slot when it already holds max_streams.
  Slot open_stream(const std::string& client);

  size_t streams() const;  // open now, all clients
  size_t connections() const;

 private:
  struct Counts {
    size_t connections = 0, streams = 0;
  };
  Slot take(const std::string& client, bool stream);
  void give_back(const std::string& client, bool stream);

  const size_t max_connections_, max_streams_;
  mutable std::mutex mu_;
  std::map<std::string, Counts> clients_;  // only clients holding something
  size_t connections_ = 0, streams_ = 0;
};

}  // namespace skiff::server
