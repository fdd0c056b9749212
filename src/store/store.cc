#include "store/store.h"

#include <algorithm>

#include "util/strings.h"

namespace skiff::store {
namespace {

constexpr int kSchemaVersion = 1;
constexpr const char* kPhaseLabel = "workflows.argoproj.io/phase";
constexpr const char* kCompletedLabel = "workflows.argoproj.io/completed";

const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS workflows ("
    " uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, phase TEXT NOT NULL,"
    " created_ms BIGINT NOT NULL, finished_ms BIGINT NOT NULL, object TEXT NOT NULL, status TEXT NOT NULL,"
    " version BIGINT NOT NULL, UNIQUE (namespace, name))",
    "CREATE INDEX IF NOT EXISTS workflows_by_age ON workflows (created_ms DESC, uid)",
    "CREATE INDEX IF NOT EXISTS workflows_by_phase ON workflows (phase)",
    "CREATE TABLE IF NOT EXISTS workflow_labels ("
    " uid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (uid, key))",
    "CREATE INDEX IF NOT EXISTS workflow_labels_by_key ON workflow_labels (key, value)",
    "CREATE TABLE IF NOT EXISTS nodes (uid TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (uid, id))",
    "CREATE TABLE IF NOT EXISTS objects ("
    " kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,"
    " created_ms BIGINT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (kind, namespace, name))",
};

using spec::WorkflowPhase;

// The phase labels Argo sets, which clients select on.
std::map<std::string, std::string> phase_labels(WorkflowPhase phase) {
  return {{kPhaseLabel, spec::workflow_phase_name(phase)}, {kCompletedLabel, spec::is_finished(phase) ? "true" : "false"}};
}

// "'Succeeded', 'Failed', 'Error'": the finished phases as SQL text.
std::string finished_phases_sql() {
  std::string out;
  for (WorkflowPhase p : spec::kWorkflowPhases) {
    if (spec::is_finished(p)) out += std::string(out.empty() ? "'" : ", '") + spec::workflow_phase_name(p) + "'";
  }
  return out;
}

// The kind's name as the objects table keys it; kinds kept elsewhere are refused.
Result<std::string> object_kind(spec::Kind kind) {
  const spec::KindInfo& k = spec::kind_info(kind);
  if (k.storage != spec::Storage::kObjects) return internal_error(std::string(k.name) + "s are not kept as named objects");
  return std::string(k.name);
}

int64_t to_int(const std::optional<std::string>& s) { return s ? std::strtoll(s->c_str(), nullptr, 10) : 0; }

bool label_char(char c, bool key) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || (key && c == '/');
}

bool valid_label(const std::string& s, bool key) {
  if (s.empty()) return !key;
  if (s.size() > (key ? 316u : 63u)) return false;
  return std::all_of(s.begin(), s.end(), [key](char c) { return label_char(c, key); });
}

// Splits on commas outside parentheses.
std::vector<std::string> requirements(const std::string& selector) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : selector) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(std::string(trim(cur)));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty() || !out.empty()) out.push_back(std::string(trim(cur)));
  return out;
}

constexpr const char* kHas = "EXISTS (SELECT 1 FROM workflow_labels l WHERE l.uid = w.uid AND l.key = ?";

WorkflowRecord workflow_from(const Row& r) {
  WorkflowRecord wf;
  wf.uid = r[0].value_or("");
  wf.namespace_ = r[1].value_or("");
  wf.name = r[2].value_or("");
  wf.phase = spec::parse_workflow_phase(r[3].value_or(""));
  wf.created_ms = to_int(r[4]);
  wf.finished_ms = to_int(r[5]);
  wf.object = r[6].value_or("");
  wf.status = r[7].value_or("");
  wf.version = to_int(r[8]);
  return wf;
}

constexpr const char* kWorkflowColumns =
    "w.uid, w.namespace, w.name, w.phase, w.created_ms, w.finished_ms, w.object, w.status, w.version";

}  // namespace

Result<SqlCondition> label_selector_sql(const std::string& selector) {
  SqlCondition out;
  auto bad = [&](const std::string& req, const std::string& why) {
    return invalid("labelSelector \"" + selector + "\": \"" + req + "\" " + why +
                   " (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)");
  };
  for (const std::string& req : requirements(selector)) {
    if (req.empty()) return bad(req, "is empty");
    std::string cond;
    if (req[0] == '!') {
      std::string key(trim(req.substr(1)));
      if (!valid_label(key, true)) return bad(req, "has a bad key");
      cond = std::string("NOT ") + kHas + ")";
      out.params.push_back(key);
    } else if (size_t in = req.find(" in "), notin = req.find(" notin "); in != std::string::npos || notin != std::string::npos) {
      bool negate = notin != std::string::npos;
      size_t at = negate ? notin : in;
      std::string key(trim(req.substr(0, at)));
      std::string rest(trim(req.substr(at + (negate ? 7 : 4))));
      if (!valid_label(key, true)) return bad(req, "has a bad key");
      if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') return bad(req, "needs a (list)");
      std::vector<std::string> values;
      for (const std::string& v : split(rest.substr(1, rest.size() - 2), ',')) {
        std::string value(trim(v));
        if (!valid_label(value, false)) return bad(req, "has a bad value \"" + value + "\"");
        values.push_back(value);
      }
      if (values.empty()) return bad(req, "has an empty list");
      std::string marks;
      for (size_t i = 0; i < values.size(); ++i) marks += i ? ", ?" : "?";
      cond = std::string(negate ? "NOT " : "") + kHas + " AND l.value IN (" + marks + "))";
      out.params.push_back(key);
      out.params.insert(out.params.end(), values.begin(), values.end());
    } else if (size_t ne = req.find("!="); ne != std::string::npos) {
      std::string key(trim(req.substr(0, ne))), value(trim(req.substr(ne + 2)));
      if (!valid_label(key, true) || !valid_label(value, false)) return bad(req, "has a bad key or value");
      cond = std::string("NOT ") + kHas + " AND l.value = ?)";
      out.params.push_back(key);
      out.params.push_back(value);
    } else if (size_t eq = req.find('='); eq != std::string::npos) {
      std::string key(trim(req.substr(0, eq)));
      std::string value(trim(req.substr(eq + (req.compare(eq, 2, "==") == 0 ? 2 : 1))));
      if (!valid_label(key, true) || !valid_label(value, false)) return bad(req, "has a bad key or value");
      cond = std::string(kHas) + " AND l.value = ?)";
      out.params.push_back(key);
      out.params.push_back(value);
    } else {
      if (!valid_label(req, true)) return bad(req, "has a bad key");
      cond = std::string(kHas) + ")";
      out.params.push_back(req);
    }
    out.sql += (out.sql.empty() ? "" : " AND ") + cond;
  }
  return out;
}

Result<SqlCondition> field_selector_sql(const std::string& selector) {
  SqlCondition out;
  for (const std::string& req : requirements(selector)) {
    bool negate = req.find("!=") != std::string::npos;
    size_t op = negate ? req.find("!=") : req.find('=');
    if (op == std::string::npos) {
      return invalid("fieldSelector \"" + selector + "\": \"" + req + "\" is not field=value or field!=value");
    }
    std::string field(trim(req.substr(0, op)));
    size_t skip = negate ? 2 : (req.compare(op, 2, "==") == 0 ? 2 : 1);
    std::string value(trim(req.substr(op + skip)));
    std::string column;
    if (field == "metadata.name") column = "w.name";
    else if (field == "metadata.namespace") column = "w.namespace";
    else if (field == "metadata.uid") column = "w.uid";
    else if (field == "status.phase") column = "w.phase";
    else {
      return invalid("fieldSelector \"" + selector + "\": field \"" + field +
                     "\" is not supported (metadata.name, metadata.namespace, metadata.uid, status.phase)");
    }
    out.sql += (out.sql.empty() ? "" : " AND ") + column + (negate ? " <> ?" : " = ?");
    out.params.push_back(value);
  }
  return out;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& url) {
  auto db = open_db(url);
  if (!db) return db.status();
  auto store = std::make_unique<Store>(std::move(*db));
  if (Status s = store->migrate(); !s) return s;
  return store;
}

Status Store::migrate() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // Servers sharing one PostgreSQL database (a leader and its followers) may start at
  // once: CREATE ... IF NOT EXISTS is not safe against a concurrent one, so they take turns.
  bool postgres = std::string(db_->name()) == "postgres";
  if (postgres) {
    if (Status s = db_->exec("SELECT pg_advisory_lock(7368297078726101)"); !s) return s.with_context("creating the schema");
  }
  Status made = Status::ok();
  for (const char* sql : kSchema) {
    if (made = db_->exec(sql); !made) break;
  }
  if (postgres) db_->exec("SELECT pg_advisory_unlock(7368297078726101)");
  if (!made) return made.with_context("creating the schema");
  auto v = db_->query("SELECT value FROM meta WHERE key = 'schema'");
  if (!v) return v.status();
  if (!v->empty() && to_int((*v)[0][0]) > kSchemaVersion) {
    return Status(Code::kUnavailable, std::string("the ") + db_->name() + " database was written by a newer skiff (schema " +
                                          *(*v)[0][0] + "); upgrade skiff");
  }
  if (v->empty()) return db_->exec("INSERT INTO meta (key, value) VALUES ('schema', ?)", {std::to_string(kSchemaVersion)});
  return Status::ok();
}

Status Store::transaction(const std::function<Status()>& body) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (Status s = db_->exec("BEGIN"); !s) return s;
  Status s = body();
  if (!s) {
    db_->exec("ROLLBACK");
    return s;
  }
  if (Status c = db_->exec("COMMIT"); !c) {
    db_->exec("ROLLBACK");
    return c;
  }
  generation_.fetch_add(1, std::memory_order_release);
  return Status::ok();
}

Status Store::set_labels(const std::string& uid, const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : labels) {
    if (Status s = db_->exec("INSERT INTO workflow_labels (uid, key, value) VALUES (?, ?, ?) "
                             "ON CONFLICT (uid, key) DO UPDATE SET value = excluded.value",
                             {uid, k, v});
        !s) {
      return s;
    }
  }
  return Status::ok();
}

Status Store::update_labels(const std::string& uid, const std::map<std::string, std::string>& set,
                            const std::vector<std::string>& removed) {
  return transaction([&]() -> Status {
    for (const auto& key : removed) {
      if (Status s = db_->exec("DELETE FROM workflow_labels WHERE uid = ? AND key = ?", {uid, key}); !s) return s;
    }
    return set_labels(uid, set);
  });
}

Status Store::create_workflow(const WorkflowRecord& wf) {
  return transaction([&]() -> Status {
    Status s = db_->exec(
        "INSERT INTO workflows (uid, namespace, name, phase, created_ms, finished_ms, object, status, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
        {wf.uid, wf.namespace_, wf.name, spec::workflow_phase_name(wf.phase), std::to_string(wf.created_ms), std::to_string(wf.finished_ms),
         wf.object, wf.status});
    if (!s) {
      if (s.code() == Code::kAlreadyExists) {
        return Status(Code::kAlreadyExists, "workflows.argoproj.io \"" + wf.name + "\" already exists");
      }
      return s;
    }
    auto labels = wf.labels;
    for (auto& [k, v] : phase_labels(wf.phase)) labels[k] = v;
    return set_labels(wf.uid, labels);
  });
}

Result<WorkflowRecord> Store::get_workflow(const std::string& namespace_, const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto rows = db_->query(std::string("SELECT ") + kWorkflowColumns +
                             " FROM workflows w WHERE w.namespace = ? AND w.name = ?",
                         {namespace_, name});
  if (!rows) return rows.status();
  if (rows->empty()) return not_found("workflows.argoproj.io \"" + name + "\" not found");
  WorkflowRecord wf = workflow_from((*rows)[0]);
  auto labels = db_->query("SELECT key, value FROM workflow_labels WHERE uid = ?", {wf.uid});
  if (!labels) return labels.status();
  for (const auto& r : *labels) wf.labels[r[0].value_or("")] = r[1].value_or("");
  return wf;
}

Result<WorkflowPage> Store::list_workflows(const ListQuery& q) {
  std::string where = "1 = 1";
  std::vector<std::string> params;
  if (!q.namespace_.empty()) {
    where += " AND w.namespace = ?";
    params.push_back(q.namespace_);
  }
  for (auto [selector, parse] : {std::pair{&q.label_selector, &label_selector_sql}, {&q.field_selector, &field_selector_sql}}) {
    if (selector->empty()) continue;
    auto cond = parse(*selector);
    if (!cond) return cond.status();
    where += " AND " + cond->sql;
    params.insert(params.end(), cond->params.begin(), cond->params.end());
  }
  if (!q.continue_token.empty()) {  // "<created_ms>:<uid>" of the last item of the previous page
    size_t colon = q.continue_token.find(':');
    std::string created = q.continue_token.substr(0, colon);
    if (colon == std::string::npos || created.empty() || !std::all_of(created.begin(), created.end(), ::isdigit)) {
      return invalid("continue token \"" + q.continue_token + "\" is not one this server gave");
    }
    where += " AND (w.created_ms < ? OR (w.created_ms = ? AND w.uid > ?))";
    params.insert(params.end(), {created, created, q.continue_token.substr(colon + 1)});
  }
  if (q.limit < 0) return invalid("listOptions.limit must not be negative");
  std::string sql = std::string("SELECT ") + kWorkflowColumns + " FROM workflows w WHERE " + where +
                    " ORDER BY w.created_ms DESC, w.uid ASC";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit + 1);  // one more tells whether a page follows
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto rows = db_->query(sql, params);
  if (!rows) return rows.status();
  WorkflowPage page;
  for (const auto& r : *rows) page.items.push_back(workflow_from(r));
  if (q.limit > 0 && static_cast<int64_t>(page.items.size()) > q.limit) {
    page.items.resize(static_cast<size_t>(q.limit));
    const WorkflowRecord& last = page.items.back();
    page.continue_token = std::to_string(last.created_ms) + ":" + last.uid;
  }
  if (!page.items.empty()) {  // labels for the page in one query
    std::string marks;
    std::vector<std::string> uids;
    std::map<std::string, WorkflowRecord*> by_uid;
    for (auto& wf : page.items) {
      marks += marks.empty() ? "?" : ", ?";
      uids.push_back(wf.uid);
      by_uid[wf.uid] = &wf;
    }
    auto labels = db_->query("SELECT uid, key, value FROM workflow_labels WHERE uid IN (" + marks + ")", uids);
    if (!labels) return labels.status();
    for (const auto& r : *labels) by_uid[r[0].value_or("")]->labels[r[1].value_or("")] = r[2].value_or("");
  }
  return page;
}

Status Store::delete_workflow(const std::string& namespace_, const std::string& name) {
  return transaction([&]() -> Status {
    auto rows = db_->query("SELECT uid FROM workflows WHERE namespace = ? AND name = ?", {namespace_, name});
    if (!rows) return rows.status();
    if (rows->empty()) return not_found("workflows.argoproj.io \"" + name + "\" not found");
    std::string uid = (*rows)[0][0].value_or("");
    for (const char* sql : {"DELETE FROM nodes WHERE uid = ?", "DELETE FROM workflow_labels WHERE uid = ?",
                            "DELETE FROM workflows WHERE uid = ?"}) {
      if (Status s = db_->exec(sql, {uid}); !s) return s;
    }
    return Status::ok();
  });
}

Result<std::map<WorkflowPhase, int64_t>> Store::count_by_phase() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto rows = db_->query("SELECT phase, COUNT(*) FROM workflows GROUP BY phase", {});
  if (!rows) return rows.status();
  std::map<WorkflowPhase, int64_t> out;
  for (const auto& row : *rows) {
    out[spec::parse_workflow_phase(row[0].value_or(""))] += std::atoll(row[1].value_or("0").c_str());
  }
  return out;
}

Status Store::set_workflow_object(const std::string& uid, const std::string& object) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status s = db_->exec("UPDATE workflows SET object = ?, version = version + 1 WHERE uid = ?", {object, uid});
  if (!s) return s;
  if (db_->changes() == 0) return not_found("workflow " + uid + " not found");
  generation_.fetch_add(1, std::memory_order_release);
  return s;
}

Status Store::save_one(const Progress& p, bool* missing) {
  Status s = p.status.empty()
                 ? db_->exec("UPDATE workflows SET version = version + 1 WHERE uid = ?", {p.uid})
                 : db_->exec("UPDATE workflows SET phase = ?, finished_ms = ?, status = ?, version = version + 1 WHERE uid = ?",
                             {spec::workflow_phase_name(p.phase), std::to_string(p.finished_ms), p.status, p.uid});
  if (!s) return s;
  if (db_->changes() == 0) {
    *missing = true;
    return Status::ok();
  }
  for (const auto& n : p.nodes) {
    if (Status ns = db_->exec("INSERT INTO nodes (uid, id, body) VALUES (?, ?, ?) "
                              "ON CONFLICT (uid, id) DO UPDATE SET body = excluded.body",
                              {p.uid, n.id, n.body});
        !ns) {
      return ns;
    }
  }
  if (p.status.empty()) return Status::ok();
  return set_labels(p.uid, phase_labels(p.phase));
}

Status Store::save_progress(const std::string& uid, WorkflowPhase phase, int64_t finished_ms,
                            const std::string& status, const std::vector<NodeRecord>& nodes) {
  bool missing = false;
  Status s = transaction([&]() { return save_one({uid, phase, finished_ms, status, nodes}, &missing); });
  if (s && missing) return not_found("workflow " + uid + " not found (deleted while it ran?)");
  return s;
}

Result<std::vector<std::string>> Store::save_many(const std::vector<Progress>& batch) {
  std::vector<std::string> gone;
  Status s = transaction([&]() -> Status {
    gone.clear();
    for (const auto& p : batch) {
      bool missing = false;
      if (Status one = save_one(p, &missing); !one) return one;
      if (missing) gone.push_back(p.uid);
    }
    return Status::ok();
  });
  if (!s) return s;
  return gone;
}

Result<std::vector<NodeRecord>> Store::nodes(const std::string& uid) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto rows = db_->query("SELECT id, body FROM nodes WHERE uid = ? ORDER BY id", {uid});
  if (!rows) return rows.status();
  std::vector<NodeRecord> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back({r[0].value_or(""), r[1].value_or("")});
  return out;
}

Result<std::string> Store::nodes_json(const std::string& uid) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  bool sqlite = std::string(db_->name()) == "sqlite";
  auto rows = db_->query(sqlite ? "SELECT json_group_object(id, json(body)) FROM "
                                  "(SELECT id, body FROM nodes WHERE uid = ? ORDER BY id)"
                                : "SELECT COALESCE(json_object_agg(id, body::json ORDER BY id)::text, '{}') "
                                  "FROM nodes WHERE uid = ?",
                         {uid});
  if (!rows) return rows.status();
  if (rows->empty() || !(*rows)[0][0]) return std::string("{}");
  return std::move(*(*rows)[0][0]);
}

Status Store::delete_nodes(const std::string& uid, const std::vector<std::string>& ids) {
  return transaction([&]() -> Status {
    for (const auto& id : ids) {
      if (Status s = db_->exec("DELETE FROM nodes WHERE uid = ? AND id = ?", {uid, id}); !s) return s;
    }
    return Status::ok();
  });
}

Result<std::vector<WorkflowRecord>> Store::unfinished() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto rows = db_->query(std::string("SELECT ") + kWorkflowColumns +
                         " FROM workflows w WHERE w.phase NOT IN (" + finished_phases_sql() + ") ORDER BY w.created_ms, w.uid");
  if (!rows) return rows.status();
  std::vector<WorkflowRecord> out;
  for (const auto& r : *rows) out.push_back(workflow_from(r));
  return out;
}

Status Store::create_object(spec::Kind kind, const ObjectRecord& o) {
  auto k = object_kind(kind);
  if (!k) return k.status();
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status s = db_->exec("INSERT INTO objects (kind, namespace, name, body, created_ms, version) VALUES (?, ?, ?, ?, ?, 1)",
                       {*k, o.namespace_, o.name, o.body, std::to_string(o.created_ms)});
  if (s.code() == Code::kAlreadyExists) {
    return Status(Code::kAlreadyExists, *k + " \"" + o.name + "\" already exists");
  }
  if (s) generation_.fetch_add(1, std::memory_order_release);
  return s;
}

Status Store::update_object(spec::Kind kind, const ObjectRecord& o) {
  auto k = object_kind(kind);
  if (!k) return k.status();
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // A compare-and-swap on the version in the database itself, so it holds between
  // processes (two servers on one PostgreSQL) as well as threads.
  std::string sql = "UPDATE objects SET body = ?, version = version + 1 WHERE kind = ? AND namespace = ? AND name = ?";
  std::vector<std::string> args = {o.body, *k, o.namespace_, o.name};
  if (o.version > 0) {
    sql += " AND version = ?";
    args.push_back(std::to_string(o.version));
  }
  Status s = db_->exec(sql, args);
  if (!s) return s;
  if (db_->changes() > 0) {
    generation_.fetch_add(1, std::memory_order_release);
    return Status::ok();
  }
  std::string what = *k + " \"" + o.name + "\"";
  if (o.version > 0 && get_object(kind, o.namespace_, o.name)) {
    return Status(Code::kConflict, "Operation cannot be fulfilled on " + what +
                                       ": the object has been modified; please apply your changes to the latest "
                                       "version and try again");
  }
  return not_found(what + " not found");
}

Result<ObjectRecord> Store::get_object(spec::Kind kind, const std::string& namespace_, const std::string& name) {
  auto k = object_kind(kind);
  if (!k) return k.status();
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto rows = db_->query("SELECT namespace, name, body, created_ms, version FROM objects "
                         "WHERE kind = ? AND namespace = ? AND name = ?",
                         {*k, namespace_, name});
  if (!rows) return rows.status();
  if (rows->empty()) return not_found(*k + " \"" + name + "\" not found");
  const Row& r = (*rows)[0];
  return ObjectRecord{r[0].value_or(""), r[1].value_or(""), r[2].value_or(""), to_int(r[3]), to_int(r[4])};
}

Result<std::vector<ObjectRecord>> Store::list_objects(spec::Kind kind, const std::string& namespace_) {
  return list_object_rows(kind, namespace_, true);
}

Result<std::vector<ObjectRecord>> Store::list_object_versions(spec::Kind kind, const std::string& namespace_) {
  return list_object_rows(kind, namespace_, false);
}

Result<std::vector<ObjectRecord>> Store::list_object_rows(spec::Kind kind, const std::string& namespace_, bool bodies) {
  auto k = object_kind(kind);
  if (!k) return k.status();
  std::string columns = bodies ? "namespace, name, body, created_ms, version" : "namespace, name, '', created_ms, version";
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto rows = namespace_.empty()
                  ? db_->query("SELECT " + columns + " FROM objects WHERE kind = ? ORDER BY namespace, name", {*k})
                  : db_->query("SELECT " + columns + " FROM objects WHERE kind = ? AND namespace = ? ORDER BY name",
                               {*k, namespace_});
  if (!rows) return rows.status();
  std::vector<ObjectRecord> out;
  for (const auto& r : *rows) out.push_back({r[0].value_or(""), r[1].value_or(""), r[2].value_or(""), to_int(r[3]), to_int(r[4])});
  return out;
}

Status Store::delete_object(spec::Kind kind, const std::string& namespace_, const std::string& name) {
  auto k = object_kind(kind);
  if (!k) return k.status();
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status s = db_->exec("DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?", {*k, namespace_, name});
  if (!s) return s;
  if (db_->changes() == 0) return not_found(*k + " \"" + name + "\" not found");
  generation_.fetch_add(1, std::memory_order_release);
  return Status::ok();
}

}  // namespace skiff::store
