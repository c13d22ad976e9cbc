// HTTP calls to the explorer's API (docs/protocol.md, "HTTP API") and the
// run tokens the home page keeps for the runs this browser started.

const TOKEN_PREFIX = 'explorer.token.';

/** APIError is a non-2xx answer: status, the server's message and field. */
export class APIError extends Error {
  constructor(status, message, field) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.field = field || '';
  }
}

/**
 * request sends one API call and returns the decoded JSON answer.
 * @param {string} method
 * @param {string} path
 * opts.raw sends bytes (a Blob) as they are, with opts.contentType.
 * @param {{body?: any, raw?: Blob, contentType?: string, token?: string, signal?: AbortSignal}} [opts]
 * @throws {APIError} for an error status, with the server's message.
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.raw !== undefined) headers['Content-Type'] = opts.contentType || 'application/octet-stream';
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.raw !== undefined ? opts.raw : opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, 'cannot reach the server: check the connection', '');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = (data && data.error) || `${method} ${path}: ${res.status} ${res.statusText}`;
    throw new APIError(res.status, msg, data && data.field);
  }
  return data;
}

/**
 * binary fetches bytes, e.g. a dataset's pixels.
 * @param {string} path
 * @returns {Promise<Uint8Array>}
 */
export async function binary(path) {
  const res = await fetch(path);
  if (!res.ok) throw new APIError(res.status, `${path}: ${res.status} ${res.statusText}`, '');
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * saveToken remembers the control token of a run this browser started:
 * in sessionStorage for this tab and localStorage so a new tab can control
 * it too. Storage may be unavailable (private modes); then only this page
 * load knows the token.
 */
export function saveToken(runID, token) {
  for (const store of stores()) {
    try {
      store.setItem(TOKEN_PREFIX + runID, token);
    } catch {
      // Full or forbidden storage: the run is still watchable.
    }
  }
}

/** loadToken returns the stored control token of a run, or "". */
export function loadToken(runID) {
  for (const store of stores()) {
    try {
      const t = store.getItem(TOKEN_PREFIX + runID);
      if (t) return t;
    } catch {
      // Storage blocked: fall through to "no token".
    }
  }
  return '';
}

function stores() {
  const out = [];
  try {
    if (globalThis.sessionStorage) out.push(globalThis.sessionStorage);
  } catch {
    // Access itself can throw when storage is disabled.
  }
  try {
    if (globalThis.localStorage) out.push(globalThis.localStorage);
  } catch {
    // As above.
  }
  return out;
}

/**
 * runExists asks the server whether run id exists (for a stream that keeps
 * failing to connect): false on 404; other failures throw.
 * @param {string} id
 * @returns {Promise<boolean>}
 */
export async function runExists(id) {
  try {
    await request('GET', `/api/runs/${encodeURIComponent(id)}`);
    return true;
  } catch (err) {
    if (err.status === 404) return false;
    throw err;
  }
}
