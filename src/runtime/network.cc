#include "runtime/network.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/fd.h"
#include "runtime/program.h"

namespace skiff::runtime {
namespace {

int quiet(const std::vector<std::string>& args) { return run_program(args, {}, "", nullptr); }

// Brings up the loopback interface of the calling thread's network namespace.
bool loopback_up() {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return false;
  ifreq req = {};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) return false;
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  return ::ioctl(sock.get(), SIOCSIFFLAGS, &req) == 0;
}

}  // namespace

Network::Network(NetworkOptions options) : options_(std::move(options)) {
  bridge_ = setup();
  // Namespaces left by a skiff that was killed: release their addresses.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.state_dir + "/netns", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("skiff-", 0) != 0) continue;
    std::string pid = name.substr(6, name.find('-', 6) - 6);
    if (::access(("/proc/" + pid).c_str(), F_OK) == 0) continue;
    if (bridge_.is_ok()) plugin("DEL", name, "", nullptr);  // no namespace any more: frees the address
    ::umount2(entry.path().c_str(), MNT_DETACH);
    ::unlink(entry.path().c_str());
  }
  if (bridge_.is_ok() && options_.ready > 0) worker_ = std::thread([this] { keep_ready(); });
}

Network::~Network() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wanted_.notify_all();
  if (worker_.joinable()) worker_.join();
  for (const Attachment& a : ready_) detach(a);
}

void Network::keep_ready() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wanted_.wait(lock, [this] { return stopping_ || ready_.size() < options_.ready; });
    if (stopping_) return;
    lock.unlock();
    auto a = create();
    lock.lock();
    if (!a) return;  // attach() reports the error when it creates one itself
    ready_.push_back(std::move(*a));
  }
}

void Network::release(Attachment attachment, bool reusable) {
  if (reusable && bridge_.is_ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && ready_.size() < options_.keep) {
      ready_.push_back(std::move(attachment));
      return;
    }
  }
  detach(attachment);
}

Result<Attachment> Network::attach() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready_.empty()) {
      Attachment a = std::move(ready_.front());
      ready_.pop_front();
      wanted_.notify_one();
      return a;
    }
  }
  return create();
}

Status Network::setup() {
  for (const char* p : {"/bridge", "/host-local"}) {
    if (::access((options_.plugin_dir + p).c_str(), X_OK) != 0) {
      return Status(Code::kUnavailable, "no CNI plugin " + options_.plugin_dir + p +
                                            " (apt-get install containernetworking-plugins): steps have loopback only");
    }
  }
  if (Status s = make_dirs(options_.state_dir + "/netns"); !s) return s;
  write_file("/proc/sys/net/ipv4/ip_forward", "1\n", 0644);
  const std::string& net = options_.subnet;
  std::vector<std::vector<std::string>> rules = {
      {"-t", "nat", "POSTROUTING", "-s", net, "!", "-d", net, "-j", "MASQUERADE"},
      {"-t", "filter", "FORWARD", "-s", net, "-j", "ACCEPT"},
      {"-t", "filter", "FORWARD", "-d", net, "-j", "ACCEPT"}};
  std::string iptables = ::access("/usr/sbin/iptables", X_OK) == 0 ? "/usr/sbin/iptables" : "/sbin/iptables";
  for (const auto& rule : rules) {  // -C checks whether the rule is there; -A adds it
    std::vector<std::string> args = {iptables, "-w", rule[0], rule[1], "-C"};
    args.insert(args.end(), rule.begin() + 2, rule.end());
    if (quiet(args) == 0) continue;
    args[4] = "-A";
    if (quiet(args) != 0) {
      return Status(Code::kUnavailable, "cannot add the NAT rule for " + net + " with iptables: steps have no outbound network");
    }
  }
  return Status::ok();
}

std::string Network::cni_config() const {
  nlohmann::json c = {
      {"cniVersion", "1.0.0"}, {"name", "skiff"},     {"type", "bridge"}, {"bridge", options_.bridge},
      {"isGateway", true},     {"ipMasq", false},     {"hairpinMode", true},
      {"ipam",
       {{"type", "host-local"},
        {"ranges", {{{{"subnet", options_.subnet}}}}},
        {"routes", {{{"dst", "0.0.0.0/0"}}}},
        {"dataDir", options_.state_dir + "/cni"}}}};
  return c.dump();
}

int Network::plugin(const std::string& command, const std::string& id, const std::string& netns, std::string* out) const {
  return run_program({options_.plugin_dir + "/bridge"},
             {"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id, "CNI_NETNS=" + netns, "CNI_IFNAME=eth0",
              "CNI_PATH=" + options_.plugin_dir},
             cni_config(), out);
}

Result<Attachment> Network::create() {
  Attachment a;
  {
    std::lock_guard<std::mutex> lock(mu_);
    a.id = "skiff-" + process_tag() + "-net" + std::to_string(++created_);
  }
  a.netns = options_.state_dir + "/netns/" + a.id;
  Fd file(::open(a.netns.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!file.valid()) return errno_status("creating " + a.netns, errno);
  file.reset();
  // A network namespace belongs to a thread: make one on a short-lived thread and pin it
  // to the file with a bind mount.
  int err = 0;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0 || !loopback_up() ||
        ::mount("/proc/thread-self/ns/net", a.netns.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      err = errno;
    }
  }).join();
  if (err) {
    ::unlink(a.netns.c_str());
    return errno_status("creating a network namespace", err);
  }
  if (!bridge_.is_ok()) return a;
  std::string out;
  int rc = plugin("ADD", a.id, a.netns, &out);
  nlohmann::json result = nlohmann::json::parse(out, nullptr, false);
  if (rc != 0 || !result.is_object()) {
    detach(a);
    std::string why = result.is_object() ? result.value("msg", out) : out;
    return Status(Code::kUnavailable, "attaching the step to bridge " + options_.bridge + ": " + why.substr(0, 300));
  }
  if (result.contains("ips") && result["ips"].is_array() && !result["ips"].empty()) {
    std::string address = result["ips"][0].value("address", "");
    a.ip = address.substr(0, address.find('/'));
  }
  return a;
}

void Network::detach(const Attachment& a) const {
  if (bridge_.is_ok()) plugin("DEL", a.id, a.netns, nullptr);
  ::umount2(a.netns.c_str(), MNT_DETACH);
  ::unlink(a.netns.c_str());
}

}  // namespace skiff::runtime
