// Talks to skiff server's (Argo Server's) REST API. Every request carries the stored
// Bearer token; a 401 asks the login handler for a token and tries again. Errors come
// back as ApiError with the server's {"code","message"}.

const TOKEN_KEY = 'skiff.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

let token = localStorage.getItem(TOKEN_KEY) ?? '';
let loginHandler: ((reason: string) => Promise<void>) | null = null;
let loginPending: Promise<void> | null = null;

export function setToken(t: string): void {
  token = t.trim().replace(/^Bearer\s+/i, '');
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

// A link to an artifact download carries no header: the token goes as Argo's UI sends it,
// in the `authorization` cookie, set before the browser follows the link.
export function setArtifactCookie(): void {
  if (token) document.cookie = `authorization=${encodeURIComponent('Bearer ' + token)}; path=/; SameSite=Strict`;
}

export function hasToken(): boolean {
  return token !== '';
}

// The handler shows a login form and resolves once a new token is set.
export function setLoginHandler(fn: (reason: string) => Promise<void>): void {
  loginHandler = fn;
}

async function authorized(path: string, init: RequestInit): Promise<Response> {
  for (;;) {
    const headers = new Headers(init.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    const res = await fetch(path, { ...init, headers });
    if (res.status !== 401 || !loginHandler) return res;
    const body = await res.text();
    let reason = 'this server needs a token';
    try {
      reason = JSON.parse(body).message ?? reason;
    } catch {
      /* not JSON */
    }
    if (!loginPending) loginPending = loginHandler(token ? reason : 'this server needs a token').finally(() => (loginPending = null));
    await loginPending;
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const j = JSON.parse(text);
    return new ApiError(res.status, j.code, j.message ?? text);
  } catch {
    return new ApiError(res.status, undefined, text || `${res.status} ${res.statusText}`);
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  const res = await authorized(path, init);
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

// Like api(), for calls whose answer is not needed (the actions return the whole
// workflow, which is big and slow to compress): checks the status, drops the body.
export async function apiNoBody(method: string, path: string, body?: unknown): Promise<void> {
  const res = await authorized(path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  if (!res.ok) throw await errorOf(res);
  await res.body?.cancel();
}

// Reads one of Argo's streams (watch, logs) as server-sent events (or newline-delimited
// JSON), calling onItem with each event's "result", until the server ends it or `signal`
// aborts it. (Server-sent events are asked for rather than newline-delimited JSON:
// cpp-httplib never compresses text/event-stream, and compressing a big workflow with
// brotli takes seconds.)
export async function stream(path: string, onItem: (result: any) => void, signal: AbortSignal): Promise<void> {
  const res = await authorized(path, { signal, headers: { Accept: 'text/event-stream' } });
  if (!res.ok) throw await errorOf(res);
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let data = '';
  const take = (line: string) => {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith('data:')) {
      data += (data ? '\n' : '') + line.slice(line.startsWith('data: ') ? 6 : 5);
      return;
    }
    // Newline-delimited JSON (Argo CD's pod logs) is read too: a line that is an object.
    if (!data && line.startsWith('{')) data = line;
    else if (line !== '' || !data) return; // comments, event names, ids
    const j = JSON.parse(data);
    data = '';
    if (j.error) throw new ApiError(500, j.error.code, j.error.message ?? 'stream error');
    onItem(j.result ?? j);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        take(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
    take(buf);
    take('');
  } finally {
    reader.releaseLock();
  }
}

// Follows a stream while a page shows: when the server ends it or it fails, it is opened
// again after a back-off (1 s, doubling to 15 s; back to 1 s once items come). `live` is
// told whether it is connected. Returns what stops it.
export function follow(path: string, onItem: (result: any) => void, live?: (on: boolean) => void): () => void {
  const ctl = new AbortController();
  (async () => {
    let backoff = 1000;
    while (!ctl.signal.aborted) {
      live?.(true);
      try {
        await stream(path, (r) => ((backoff = 1000), onItem(r)), ctl.signal);
      } catch (e) {
        if (isAbort(e)) return;
      }
      live?.(false);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 15000);
    }
  })();
  return () => ctl.abort();
}

// The server has no such call (yet): an optional view shows "none" rather than an error.
export function notServed(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 501);
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

export const enc = encodeURIComponent;
