#include <libpq-fe.h>

#include "store/db.h"

namespace skiff::store {
namespace {

// `?` placeholders become $1, $2, ... (the store's SQL has no `?` inside literals).
std::string numbered(const std::string& sql) {
  std::string out;
  int n = 0;
  for (char c : sql) {
    if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

class PgDb final : public Db {
 public:
  explicit PgDb(PGconn* conn) : conn_(conn) {}
  ~PgDb() override { PQfinish(conn_); }

  Status exec(const std::string& sql, const std::vector<std::string>& params) override {
    auto r = run(sql, params);
    return r ? Status::ok() : r.status();
  }

  Result<std::vector<Row>> query(const std::string& sql, const std::vector<std::string>& params) override {
    return run(sql, params);
  }

  int64_t changes() const override { return changes_; }
  const char* name() const override { return "postgres"; }

 private:
  Result<std::vector<Row>> run(const std::string& sql, const std::vector<std::string>& params) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK) {
        return Status(Code::kUnavailable, std::string("postgres: connection lost: ") + PQerrorMessage(conn_));
      }
    }
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (const auto& p : params) {
      values.push_back(p.c_str());
      lengths.push_back(static_cast<int>(p.size()));
    }
    PGresult* res = PQexecParams(conn_, numbered(sql).c_str(), static_cast<int>(params.size()), nullptr,
                                 values.data(), lengths.data(), nullptr, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      std::string message = PQresultErrorMessage(res);
      PQclear(res);
      // 23xxx: integrity constraint violation (a unique key: the object exists).
      Code code = state && std::string(state).rfind("23", 0) == 0 ? Code::kAlreadyExists : Code::kInternal;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return Status(code, "postgres: " + message);
    }
    const char* affected = PQcmdTuples(res);
    changes_ = affected && *affected ? std::strtoll(affected, nullptr, 10) : 0;
    std::vector<Row> rows;
    int nrows = PQntuples(res), ncols = PQnfields(res);
    rows.reserve(static_cast<size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      Row row;
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

  PGconn* conn_;
  int64_t changes_ = 0;
};

}  // namespace

Result<std::unique_ptr<Db>> open_postgres(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
    PQfinish(conn);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Status(Code::kUnavailable, "connecting to PostgreSQL: " + msg);
  }
  auto db = std::make_unique<PgDb>(conn);
  if (Status s = db->exec("SET client_min_messages = warning", {}); !s) return s;
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace skiff::store
