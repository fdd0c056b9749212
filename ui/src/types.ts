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
  inputs?: { parameters?: Parameter[]; artifacts?: unknown[] };
  outputs?: { result?: string; exitCode?: string; parameters?: Parameter[]; artifacts?: unknown[] };
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
