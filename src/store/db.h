// Db: the few SQL operations the store needs, over SQLite or PostgreSQL.
//
// SQL is written once with `?` placeholders (PostgreSQL's $1.. are substituted) and in the
// dialect both accept (INSERT ... ON CONFLICT ... DO UPDATE, BIGINT, TEXT). Every value
// travels as text and comes back as text (or nullopt for NULL). Not thread-safe: the
// Store serialises access.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::store {

using Row = std::vector<std::optional<std::string>>;

class Db {
 public:
  virtual ~Db() = default;
  virtual Status exec(const std::string& sql, const std::vector<std::string>& params = {}) = 0;
  virtual Result<std::vector<Row>> query(const std::string& sql, const std::vector<std::string>& params = {}) = 0;
  // Rows changed by the last exec (UPDATE/DELETE/INSERT).
  virtual int64_t changes() const = 0;
  virtual const char* name() const = 0;  // "sqlite" | "postgres"
};

// "sqlite:PATH" (WAL mode; the file is created) or "postgres://..." / "postgresql://...".
Result<std::unique_ptr<Db>> open_db(const std::string& url);

Result<std::unique_ptr<Db>> open_sqlite(const std::string& path);
Result<std::unique_ptr<Db>> open_postgres(const std::string& url);

}  // namespace skiff::store
