// The Kubernetes Lease way of holding the leadership (leader.h), as Kubernetes' own
// controllers do it: optimistic concurrency on the Lease's resourceVersion decides every
// race, and expiry is judged on the follower's own clock from when it last saw the Lease
// change, never from the renewTime another machine wrote.
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "kube/client.h"
#include "server/leader.h"

namespace skiff::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUrlAnnotation = "skiff.io/leader-url";

// A MicroTime as the API writes it: 2026-12-01T23:00:00.123456Z.
std::string micro_time_now() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us % 1000000));
  return out;
}

std::string holder_of(const json& lease) {
  const json& spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : json::object();
  return spec.value("holderIdentity", std::string());
}

class LeaseElection : public LeaderElection {
 public:
  LeaseElection(const kube::ClusterConfig& cluster, std::string ns, std::string name, std::string identity,
                LeaseTiming timing)
      : client_(cluster, kube::RetryPolicy{1, 0, 0, 0, 2000}),
        ns_(std::move(ns)),
        name_(std::move(name)),
        identity_(std::move(identity)),
        timing_(timing) {}

  Result<bool> try_acquire() override {
    auto now = Clock::now();
    auto got = client_.get(ref(), ns_);
    if (!got) {
      if (got.status().code() != Code::kNotFound) return context(got.status());
      auto created = client_.create(take(fresh()), ns_);
      if (!created) return lost_race(created.status());
      return lead(*created, now);
    }
    observe(*got, now);
    std::string holder = holder_of(*got);
    if (holder != identity_ && !holder.empty() && now < observed_at_ + lease_duration(*got)) return false;
    auto replaced = client_.replace(take(*got), ns_);  // carries the resourceVersion read
    if (!replaced) return lost_race(replaced.status());
    return lead(*replaced, now);
  }

  Result<bool> holds() override {
    if (!leading_) return false;
    auto now = Clock::now();
    json next = mine_;
    next["spec"]["renewTime"] = micro_time_now();
    stamp(&next);
    auto renewed = client_.replace(next, ns_);
    if (renewed) {
      mine_ = *renewed;
      last_renew_ = now;
      return true;
    }
    Code code = renewed.status().code();
    if (code == Code::kConflict || code == Code::kNotFound) {
      // Changed or deleted since this server last wrote it. Perhaps only by this server
      // (an answer lost on the way): then it is still ours, to renew from what is there.
      auto got = client_.get(ref(), ns_);
      if (got && holder_of(*got) == identity_) {
        mine_ = *got;
      } else if (got || got.status().code() == Code::kNotFound) {
        leading_ = false;
        return context(Status(Code::kFailed, got ? "held now by " + holder_of(*got) : "deleted"));
      }
    }
    if (now - last_renew_ >= timing_.renew_deadline) {
      leading_ = false;
      return context(Status(Code::kUnavailable,
                            "not renewed for " + std::to_string(timing_.renew_deadline.count() / 1000) +
                                " s: " + renewed.status().message()));
    }
    return true;  // a passing failure: the next renewal may succeed in time
  }

  Status advertise(const std::string& url) override {
    url_ = url;
    auto held = holds();  // renews now, with the annotation
    if (!held) return held.status();
    return *held ? Status::ok() : context(Status(Code::kFailed, "no longer held"));
  }

  Result<std::string> leader_url() override {
    auto got = client_.get(ref(), ns_);
    if (!got) return got.status().code() == Code::kNotFound ? Result<std::string>(std::string()) : context(got.status());
    if (holder_of(*got).empty()) return std::string();
    const json& annotations = (*got)["metadata"].value("annotations", json::object());
    auto it = annotations.find(kUrlAnnotation);
    return it != annotations.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  void release() override {
    if (!leading_) return;
    leading_ = false;
    json next = mine_;
    next["spec"]["holderIdentity"] = "";
    next["spec"]["leaseDurationSeconds"] = 1;
    next["spec"]["renewTime"] = micro_time_now();
    (void)client_.replace(next, ns_);  // at worst, followers wait for it to lapse
  }

  std::string describe() const override { return "Lease " + ns_ + "/" + name_; }

 private:
  kube::ObjectRef ref() const { return {"coordination.k8s.io/v1", "Lease", ns_, name_}; }

  Status context(Status s) const { return s.with_context("leader election (" + describe() + ")"); }

  // Losing a race to another server (it created or took the Lease first) is no error.
  Result<bool> lost_race(const Status& s) {
    if (s.code() == Code::kConflict || s.code() == Code::kAlreadyExists) return false;
    return context(s);
  }

  json fresh() const {
    return {{"apiVersion", "coordination.k8s.io/v1"},
            {"kind", "Lease"},
            {"metadata", {{"name", name_}, {"namespace", ns_}}},
            {"spec", {{"leaseTransitions", 0}}}};
  }

  // `lease` held by this server from now on.
  json take(json lease) const {
    json& spec = lease["spec"];
    if (!spec.is_object()) spec = json::object();
    std::string now = micro_time_now();
    if (spec.value("holderIdentity", std::string()) != identity_) {
      if (spec.contains("holderIdentity")) spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
      spec["acquireTime"] = now;
    }
    spec["holderIdentity"] = identity_;
    spec["leaseDurationSeconds"] = std::max<int64_t>(1, (timing_.duration.count() + 999) / 1000);
    spec["renewTime"] = now;
    stamp(&lease);
    return lease;
  }

  void stamp(json* lease) const {
    if (!url_.empty()) (*lease)["metadata"]["annotations"][kUrlAnnotation] = url_;
  }

  bool lead(const json& lease, Clock::time_point now) {
    mine_ = lease;
    leading_ = true;
    last_renew_ = now;
    return true;
  }

  // Remembers when this server saw the Lease change (any write changes resourceVersion).
  void observe(const json& lease, Clock::time_point now) {
    std::string version = lease["metadata"].value("resourceVersion", std::string());
    if (version != observed_version_) {
      observed_version_ = version;
      observed_at_ = now;
    }
  }

  std::chrono::milliseconds lease_duration(const json& lease) const {
    const json& spec = lease["spec"];
    if (spec.is_object() && spec.contains("leaseDurationSeconds") && spec["leaseDurationSeconds"].is_number_integer()) {
      return std::chrono::seconds(std::max<int64_t>(1, spec["leaseDurationSeconds"].get<int64_t>()));
    }
    return timing_.duration;
  }

  kube::Client client_;
  std::string ns_, name_, identity_, url_;
  LeaseTiming timing_;
  bool leading_ = false;
  json mine_;                     // the Lease as this server last wrote it
  Clock::time_point last_renew_;  // when that write was made
  std::string observed_version_;
  Clock::time_point observed_at_;
};

}  // namespace

std::unique_ptr<LeaderElection> lease_election(const kube::ClusterConfig& cluster, std::string namespace_,
                                               std::string name, std::string identity, LeaseTiming timing) {
  return std::make_unique<LeaseElection>(cluster, std::move(namespace_), std::move(name), std::move(identity), timing);
}

std::string unique_identity() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  return std::string(host.data()) + "-" + std::to_string(::getpid()) + "-" + suffix;
}

}  // namespace skiff::server
