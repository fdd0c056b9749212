#include "server/leader.h"

#include <chrono>

#include "store/db.h"

namespace skiff::server {
namespace {

// The advisory lock's key, the same for every skiff server: "skiffLDR" as bytes would not
// fit a signed bigint, so any fixed number does. Advisory locks are per database, so
// servers on different databases of one PostgreSQL do not see each other.
constexpr const char* kLockKey = "7368297078726108";

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

class PostgresElection : public LeaderElection {
 public:
  explicit PostgresElection(std::unique_ptr<store::Db> db) : db_(std::move(db)) {}

  Result<bool> try_acquire() override;
  Result<bool> holds() override;
  Status advertise(const std::string& url) override;
  Result<std::string> leader_url() override;
  std::string describe() const override { return "PostgreSQL advisory lock"; }

 private:
  std::unique_ptr<store::Db> db_;
};

}  // namespace

Result<std::unique_ptr<LeaderElection>> postgres_election(const std::string& db_url) {
  // A leader that dies closes its connection and frees the lock at once; one whose machine
  // or network vanishes closes nothing. Keepalives bound both sides: this side gives up on
  // a silent server within about 6 s (the leader's next check then fails and it exits),
  // PostgreSQL gives up on a silent leader within about 11 s (and frees the lock) — the
  // old leader is gone before a follower can take over.
  std::string url = db_url + (db_url.find('?') == std::string::npos ? "?" : "&") +
                    "keepalives=1&keepalives_idle=3&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=6000";
  auto db = store::open_postgres(url);
  if (!db) return db.status().with_context("leader election");
  for (const char* sql : {"SET tcp_keepalives_idle = 5", "SET tcp_keepalives_interval = 2",
                          "SET tcp_keepalives_count = 3", "SET tcp_user_timeout = 11000"}) {
    (*db)->exec(sql);  // PostgreSQL before 12 has no tcp_user_timeout: keepalives alone then
  }
  return std::unique_ptr<LeaderElection>(std::make_unique<PostgresElection>(std::move(*db)));
}

Result<bool> PostgresElection::try_acquire() {
  auto rows = db_->query(std::string("SELECT pg_try_advisory_lock(") + kLockKey + ")");
  if (!rows) return rows.status();
  return !rows->empty() && (*rows)[0][0] == std::string("t");
}

Result<bool> PostgresElection::holds() {
  auto rows = db_->query(std::string("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                                     "pid = pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE "
                                     "datname = current_database()) AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = ") +
                         kLockKey);
  if (!rows) return rows.status();
  return !rows->empty() && (*rows)[0][0] && *(*rows)[0][0] != "0";
}

Status PostgresElection::advertise(const std::string& url) {
  if (Status s = db_->exec("CREATE TABLE IF NOT EXISTS skiff_leader (id INTEGER PRIMARY KEY, url TEXT NOT NULL, "
                           "since_ms BIGINT NOT NULL)");
      !s) {
    return s.with_context("leader election");
  }
  return db_->exec("INSERT INTO skiff_leader (id, url, since_ms) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                   "url = excluded.url, since_ms = excluded.since_ms",
                   {url, std::to_string(wall_ms())});
}

Result<std::string> PostgresElection::leader_url() {
  auto exists = db_->query("SELECT to_regclass('skiff_leader') IS NOT NULL");
  if (!exists) return exists.status();
  if (exists->empty() || (*exists)[0][0] != std::string("t")) return std::string();
  auto rows = db_->query("SELECT url FROM skiff_leader WHERE id = 1");
  if (!rows) return rows.status();
  if (rows->empty() || !(*rows)[0][0]) return std::string();
  return *(*rows)[0][0];
}

}  // namespace skiff::server
