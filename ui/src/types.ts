// The parts of Argo's objects the UI reads.

export interface Parameter {
  name: string;
  value?: string;
  default?: string;
  enum?: string[];
  description?: string;
}

export interface WfNode {
  id: string;
  name: string;
  displayName?: string;
  type: string;
  templateName?: string;
  phase?: string;
  message?: string;
  boundaryID?: string;
  children?: string[];
  outboundNodes?: string[];
  startedAt?: string;
  finishedAt?: string;
  progress?: string;
  inputs?: { parameters?: Parameter[]; artifacts?: Artifact[] };
  outputs?: { result?: string; exitCode?: string; parameters?: Parameter[]; artifacts?: Artifact[] };
}

// An artifact as status shows it; those in a repository have s3.key.
export interface Artifact {
  name: string;
  path?: string;
  s3?: { key?: string };
  raw?: { data?: string };
  http?: { url?: string };
}

export interface Metadata {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Workflow {
  metadata: Metadata;
  spec: any;
  status?: {
    phase?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    progress?: string;
    nodes?: Record<string, WfNode>;
  };
}

export interface ListResult<T> {
  metadata?: { continue?: string };
  items?: T[] | null;
}

// Argo CD's Application (argoproj.io/v1alpha1), the parts the Applications pages read.
export interface HealthStatus {
  status?: string;
  message?: string;
}

// One resource of an application: status.resources[], resource-tree nodes (with uid and
// parentRefs) and managed-resources items share these keys.
export interface ResourceKey {
  group?: string;
  version?: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface AppResource extends ResourceKey {
  status?: string; // Synced, OutOfSync
  health?: HealthStatus;
  requiresPruning?: boolean;
  hook?: boolean;
}

export interface TreeNode extends ResourceKey {
  uid?: string;
  health?: HealthStatus;
  parentRefs?: Array<ResourceKey & { uid?: string }>;
  info?: Array<{ name: string; value: string }>;
}

export interface ManagedResource extends ResourceKey {
  targetState?: string; // JSON text, "null" when git has none
  liveState?: string;
  normalizedLiveState?: string;
  diff?: string; // skiff: a unified diff of the two as YAML
  modified?: boolean;
}

export interface AppSource {
  repoURL: string;
  path?: string;
  targetRevision?: string;
  chart?: string;
}

export interface HistoryItem {
  id: number;
  revision?: string;
  deployedAt?: string;
  deployStartedAt?: string;
  source?: AppSource;
  initiatedBy?: { username?: string; automated?: boolean };
}

export interface Application {
  metadata: Metadata & { deletionTimestamp?: string; finalizers?: string[] };
  spec: {
    project?: string;
    source?: AppSource;
    sources?: AppSource[];
    destination?: { server?: string; name?: string; namespace?: string };
    syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean } };
  };
  operation?: unknown;
  status?: {
    sync?: { status?: string; revision?: string };
    health?: HealthStatus;
    resources?: AppResource[];
    conditions?: Array<{ type: string; message: string; lastTransitionTime?: string }>;
    history?: HistoryItem[];
    operationState?: { phase?: string; message?: string; startedAt?: string; finishedAt?: string; syncResult?: { revision?: string } };
    reconciledAt?: string;
    sourceType?: string;
  };
}
