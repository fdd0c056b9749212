#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <map>

#include "store/db.h"

namespace skiff::store {
namespace {

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  Status exec(const std::string& sql, const std::vector<std::string>& params) override {
    auto rows = run(sql, params, false);
    return rows ? Status::ok() : rows.status();
  }

  Result<std::vector<Row>> query(const std::string& sql, const std::vector<std::string>& params) override {
    return run(sql, params, true);
  }

  int64_t changes() const override { return sqlite3_changes64(db_); }
  const char* name() const override { return "sqlite"; }

 private:
  Status error(const std::string& what) const {
    int code = sqlite3_errcode(db_);
    Code c = code == SQLITE_CONSTRAINT ? Code::kAlreadyExists
             : (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? Code::kUnavailable
                                                              : Code::kInternal;
    return Status(c, "sqlite: " + what + ": " + sqlite3_errmsg(db_));
  }

  // Prepared statements are kept per SQL text: the store runs a handful of them often.
  Result<std::vector<Row>> run(const std::string& sql, const std::vector<std::string>& params, bool want_rows) {
    sqlite3_stmt* stmt = nullptr;
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      stmt = it->second;
    } else {
      if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
        return error("preparing");
      }
      cache_[sql] = stmt;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(stmt, static_cast<int>(i + 1), params[i].data(), static_cast<int>(params[i].size()),
                        SQLITE_TRANSIENT);
    }
    std::vector<Row> rows;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Status s = error("running");
        sqlite3_reset(stmt);
        return s;
      }
      if (!want_rows) continue;
      Row row;
      int n = sqlite3_column_count(stmt);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const unsigned char* text = sqlite3_column_text(stmt, c);
          row.emplace_back(std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    return rows;
  }

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

Result<std::unique_ptr<Db>> open_sqlite(const std::string& path) {
  // A new database is its owner's only (SQLite would make it 0644 under the usual umask);
  // its -wal and -shm files take the database file's mode.
  if (!path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status(Code::kUnavailable, "opening SQLite database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto out = std::make_unique<SqliteDb>(db);
  // WAL: readers never wait for the writer; synchronous=NORMAL keeps every commit
  // durable across a crash of skiff (not of the machine's power, which FULL would add).
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    if (auto r = out->query(pragma, {}); !r) return r.status();
  }
  return std::unique_ptr<Db>(std::move(out));
}

Result<std::unique_ptr<Db>> open_db(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) return open_sqlite(url.substr(7));
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) return open_postgres(url);
  return invalid("--db \"" + url + "\": expected sqlite:PATH or postgres://USER@HOST:PORT/DB");
}

}  // namespace skiff::store
