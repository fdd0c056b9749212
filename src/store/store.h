// Store: what skiff keeps across restarts — workflows (one row each, plus one row per
// node), their labels, and named objects of the other registered kinds (spec/kinds.h:
// WorkflowTemplates, ClusterWorkflowTemplates, CronWorkflows) — in SQLite (the default)
// or PostgreSQL, with the same behaviour.
//
// Workflows are listed newest first, filtered by namespace, Kubernetes label selectors
// (`app=web,tier!=db,env in (a,b),!canary,team`) and field selectors (`metadata.name=x`,
// `metadata.namespace!=y`), a page at a time with an opaque continue token. The labels
// `workflows.argoproj.io/phase` and `workflows.argoproj.io/completed` follow the workflow's
// phase, as Argo sets them, so clients filter by phase with a label selector.
// A run's progress is saved as one transaction per loop turn: the workflow's status and
// the nodes that changed. Thread-safe (one connection, serialised).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "spec/kinds.h"
#include "spec/phase.h"
#include "store/db.h"
#include "util/status.h"

namespace skiff::store {

struct WorkflowRecord {
  std::string uid;
  std::string namespace_;
  std::string name;
  spec::WorkflowPhase phase = spec::WorkflowPhase::kPending;  // stored as Argo's word
  int64_t created_ms = 0;
  int64_t finished_ms = 0;
  std::map<std::string, std::string> labels;  // as submitted (phase labels are added)
  std::string object;  // the Workflow as submitted: apiVersion, kind, metadata, spec (JSON)
  std::string status;  // status without nodes (JSON)
  int64_t version = 0;  // bumped by every save
};

struct NodeRecord {
  std::string id;
  std::string body;  // the node as in status.nodes (JSON)
};

struct ListQuery {
  std::string namespace_;       // "" = every namespace
  std::string label_selector;   // Kubernetes syntax
  std::string field_selector;   // metadata.name / metadata.namespace with = == !=
  int64_t limit = 0;            // 0 = all
  std::string continue_token;   // from the previous page
};

struct WorkflowPage {
  std::vector<WorkflowRecord> items;
  std::string continue_token;  // "" on the last page
};

struct ObjectRecord {
  std::string namespace_;  // "" for cluster-scoped objects
  std::string name;
  std::string body;  // JSON
  int64_t created_ms = 0;
  int64_t version = 0;
};

class Store {
 public:
  // "sqlite:PATH" or "postgres://...": connects and creates or upgrades the schema.
  static Result<std::unique_ptr<Store>> open(const std::string& url);
  explicit Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  // kAlreadyExists when the namespace already has a workflow of that name.
  Status create_workflow(const WorkflowRecord& wf);
  Result<WorkflowRecord> get_workflow(const std::string& namespace_, const std::string& name);
  Result<WorkflowPage> list_workflows(const ListQuery& query);
  // Removes the workflow, its nodes and labels; kNotFound if absent.
  Status delete_workflow(const std::string& namespace_, const std::string& name);
  // How many workflows are in each phase (stored text it does not know counts as Pending).
  Result<std::map<spec::WorkflowPhase, int64_t>> count_by_phase();
  // Replaces the stored definition (e.g. spec.suspend after `argo suspend`).
  Status set_workflow_object(const std::string& uid, const std::string& object);
  // One loop turn of a run: the workflow's phase and status, and the nodes that changed
  // (inserted or replaced), in one transaction.
  Status save_progress(const std::string& uid, spec::WorkflowPhase phase, int64_t finished_ms,
                       const std::string& status, const std::vector<NodeRecord>& nodes);
  // Many workflows' progress in one transaction (a server's loop turn). Returns the uids
  // that no longer exist (deleted while they ran); the rest are saved.
  struct Progress {
    std::string uid;
    spec::WorkflowPhase phase = spec::WorkflowPhase::kPending;
    int64_t finished_ms = 0;
    std::string status;  // "": nodes only (phase and status stay as stored)
    std::vector<NodeRecord> nodes;
  };
  Result<std::vector<std::string>> save_many(const std::vector<Progress>& batch);
  Result<std::vector<NodeRecord>> nodes(const std::string& uid);
  // The same nodes as one JSON object keyed by id ("{}" when none), put together by the
  // database: 100,000 nodes cost one string, not 100,000 records.
  Result<std::string> nodes_json(const std::string& uid);
  Status delete_nodes(const std::string& uid, const std::vector<std::string>& ids);
  // Goes up with every committed change to workflows and named objects (this process's):
  // a watcher that saw the same number has nothing new to read.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Sets and removes labels of a workflow (a `kubectl patch` of its metadata.labels); its
  // stored definition keeps the labels it was submitted with.
  Status update_labels(const std::string& uid, const std::map<std::string, std::string>& set,
                       const std::vector<std::string>& removed);
  // Workflows that have not finished (to resume after a restart), oldest first.
  Result<std::vector<WorkflowRecord>> unfinished();

  // Named objects of the kinds the registry keeps as objects (spec::Storage::kObjects),
  // keyed by kind name, namespace ("" when cluster-scoped) and name. kAlreadyExists on
  // create of an existing object; kNotFound on update of a missing one.
  Status create_object(spec::Kind kind, const ObjectRecord& object);
  Status update_object(spec::Kind kind, const ObjectRecord& object);
  Result<ObjectRecord> get_object(spec::Kind kind, const std::string& namespace_, const std::string& name);
  Result<std::vector<ObjectRecord>> list_objects(spec::Kind kind, const std::string& namespace_);
  // The same without bodies (namespace, name, created_ms, version): what changed since a
  // caller last read, at the cost of an index scan.
  Result<std::vector<ObjectRecord>> list_object_versions(spec::Kind kind, const std::string& namespace_);
  Status delete_object(spec::Kind kind, const std::string& namespace_, const std::string& name);

  const char* backend() const { return db_->name(); }

 private:
  Status migrate();
  Status transaction(const std::function<Status()>& body);
  Status set_labels(const std::string& uid, const std::map<std::string, std::string>& labels);
  Status save_one(const Progress& p, bool* missing);
  Result<std::vector<ObjectRecord>> list_object_rows(spec::Kind kind, const std::string& namespace_, bool bodies);

  std::unique_ptr<Db> db_;
  std::recursive_mutex mu_;
  std::atomic<uint64_t> generation_{0};
};

// Parses a Kubernetes label selector into SQL conditions over workflow_labels (exposed for
// tests). Fails with a message that points at the bad requirement.
struct SqlCondition {
  std::string sql;
  std::vector<std::string> params;
};
Result<SqlCondition> label_selector_sql(const std::string& selector);
Result<SqlCondition> field_selector_sql(const std::string& selector);

}  // namespace skiff::store
