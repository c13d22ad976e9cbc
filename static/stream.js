// The run's websocket feed (docs/protocol.md, "Websocket"): hello, the
// history of epochs, live, then epochs, state changes and done. Each epoch is
// a JSON message followed by a binary coordinate frame; the two are matched
// by the epoch number in the frame's header, not by arrival order. If the
// connection drops before done, the client reconnects with backoff, asking
// (?from=N, resumeFrom) only for the epochs after those it holds; the
// server then resends hello and that part of the history, which the caller
// merges by epoch number.
//
// A viewer may watch a projection of its own (setView: ?method=&dims=),
// which the server computes for it; if the server has no room for one it
// closes with 1013, and the stream goes back to the run's own projection
// (viewRefused).
//
// For large runs the socket itself lives on a worker thread where the
// browser allows it (socket-worker.js): drawing many points on a slow
// renderer keeps the main thread so busy that a main-thread websocket
// delivers large frames late. Small runs connect directly: starting the
// worker costs about 50 ms before the first frame.

import { decodeFrame } from './frame.js';

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

/**
 * RunStream connects to /ws/runs/{id} and calls the handlers it is given:
 *   hello(msg), epoch({epoch, metrics, frame, coords, dims, n, live, backfill, received, sentMs}),
 *   live(), state(msg), projection(msg), done(msg), error(msg),
 *   status(text, kind),
 *   gone() when the run does not exist,
 *   viewRefused(reason) when the server cannot compute the view asked for.
 * kind is "ok", "warn" or "error"; received is the performance.now() at
 * which the epoch's binary frame arrived, sentMs the server's sent_ms (Unix
 * milliseconds) or null. Options: url, checkRun (async,
 * does the run still exist?), worker (receive on a worker thread) and
 * viewQuery (more parameters of a view of one's own, such as "init=RUN").
 */
export class RunStream {
  constructor(runID, handlers, { url, checkRun, worker = false, resumeFrom, viewQuery = '' } = {}) {
    this.runID = runID;
    this.h = handlers;
    this.url = url || defaultURL(runID);
    // More parameters of a view of one's own (e.g. "init=RUN"), sent only
    // with one: the run's own projection takes none.
    this.viewQuery = viewQuery;
    this.worker = worker; // receive on a worker thread
    this.checkRun = checkRun; // async () => boolean: does the run still exist?
    // () => the first epoch a reconnection needs (the client holds the
    // rest), or 0 for the whole history.
    this.resumeFrom = resumeFrom || (() => 0);
    this.full = true; // the next connection asks for the whole history
    this.connects = []; // the from= of every connection, for the tests
    this.view = null; // {method, dims}: a projection of this viewer's own; null for the run's

    this.ws = null;
    this.pending = new Map(); // epoch -> JSON half waiting for its frame
    this.finished = false;
    this.closed = false;
    this.failures = 0;
    this.isLive = false;
    this.timer = 0;
  }

  /** start opens the connection. */
  start() {
    this.closed = false;
    this.connect();
  }

  /**
   * reopen connects again after done, for a stream that ended but has more
   * to tell: a finished run re-projected, an interrupted run resumed. The
   * server sends hello and the history again, then what follows. A stream
   * that is still open carries it anyway, and reopen leaves it be.
   */
  reopen() {
    if (this.closed || !this.finished) return;
    this.finished = false;
    this.failures = 0;
    this.full = true;
    this.connect();
  }

  /**
   * restart connects again for the whole history, e.g. when the
   * projection changed while a reconnection was away and the epochs the
   * client holds are in the old one.
   */
  restart() {
    if (this.closed) return;
    this.full = true;
    this.finished = false;
    const ws = this.ws;
    this.ws = null; // its close must not schedule a retry
    if (ws) ws.close(1000, 'restart');
    this.connect();
  }

  /**
   * setView asks for a projection of this viewer's own ({method, dims}),
   * or the run's own (null), and connects again for its whole history.
   */
  setView(view) {
    this.view = view ? { method: view.method, dims: view.dims } : null;
    this.restart();
  }

  /** drop closes the socket as a network failure would (tests, debugging). */
  drop() {
    if (this.ws) this.ws.close(4000, 'dropped');
  }

  /** close stops the client for good (page teardown). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null; // nothing more it sends is heard
    if (ws) ws.close(1000, 'bye');
  }

  connect() {
    clearTimeout(this.timer);
    this.pending.clear();
    this.isLive = false;
    this.call('status', this.failures ? 'reconnecting…' : 'connecting…', 'warn');
    let ws;
    try {
      // A reconnection resumes after the epochs the client has: ?from=N.
      const from = this.full ? 0 : Math.max(0, Math.floor(this.resumeFrom() || 0));
      this.from = from;
      this.connects.push(from);
      const q = [];
      if (from > 0) q.push(`from=${from}`);
      if (this.view) q.push(`method=${encodeURIComponent(this.view.method)}`, `dims=${encodeURIComponent(this.view.dims)}`);
      if (this.view && this.viewQuery) q.push(this.viewQuery);
      ws = openSocket(q.length ? `${this.url}${this.url.includes('?') ? '&' : '?'}${q.join('&')}` : this.url, this.worker);
    } catch (err) {
      this.call('status', `cannot open the live feed: ${err.message}`, 'error');
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (ev) => {
      // A socket replaced (restart, setView, close then start) may still
      // deliver what was in flight: of the old view, so not ours.
      if (this.ws !== ws) return;
      try {
        if (typeof ev.data === 'string') this.text(ev.data);
        else this.frame(ev.data);
      } catch (err) {
        // A bad message must not kill the feed; say what happened.
        this.call('status', `ignored a bad message: ${err.message}`, 'warn');
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed || this.finished) return;
      if (ev.code === 1013 && this.view) {
        // No room on the server for a projection of one's own: the run's.
        this.view = null;
        this.full = true;
        this.call('viewRefused', ev.reason || 'the server is busy');
        this.connect();
        return;
      }
      this.retry(ev);
    };
    // onerror is always followed by onclose, which decides what to do.
    ws.onerror = () => {};
  }

  async retry(ev) {
    this.failures++;
    if (this.failures >= 3 && this.checkRun) {
      let exists = true;
      try {
        exists = await this.checkRun();
      } catch {
        exists = true; // the server is unreachable; keep trying
      }
      if (!exists) {
        this.closed = true;
        this.call('gone');
        this.call('status', 'this run does not exist (any more)', 'error');
        return;
      }
    }
    const base = BACKOFF_MS[Math.min(this.failures - 1, BACKOFF_MS.length - 1)];
    const wait = Math.round(base * (0.8 + 0.4 * Math.random()));
    const why = ev && ev.code && ev.code !== 1006 ? ` (code ${ev.code})` : '';
    this.call('status', `connection lost${why}; reconnecting in ${Math.ceil(wait / 1000)} s`, 'warn');
    this.timer = setTimeout(() => {
      if (!this.closed && !this.finished) this.connect();
    }, wait);
  }

  text(data) {
    const msg = JSON.parse(data);
    switch (msg.type) {
      case 'hello':
        this.failures = 0;
        this.full = false; // from now on a reconnection resumes
        this.call('status', 'connected', 'ok');
        this.call('hello', msg);
        break;
      case 'epoch':
        this.pending.set(msg.epoch, msg);
        break;
      case 'live':
        this.isLive = true;
        this.call('live');
        break;
      case 'state':
        this.call('state', msg);
        break;
      case 'projection':
        this.call('projection', msg);
        break;
      case 'done':
        this.finished = true;
        this.call('done', msg);
        break;
      case 'error':
        this.call('error', msg);
        this.call('status', `run failed: ${msg.error}`, 'error');
        break;
      default:
        // Unknown types are newer server features: ignore them.
        break;
    }
  }

  frame(buf) {
    const received = performance.now();
    const f = decodeFrame(buf);
    const meta = this.pending.get(f.epoch);
    this.pending.delete(f.epoch);
    // Frames older than this one whose JSON never got a frame are dropped.
    for (const e of this.pending.keys()) if (e < f.epoch) this.pending.delete(e);
    this.call('epoch', {
      epoch: f.epoch,
      metrics: meta ? meta.metrics || null : null,
      frame: meta ? meta.frame || null : null,
      coords: f.coords,
      dims: f.dims,
      n: f.n,
      live: this.isLive,
      backfill: meta ? meta.backfill === true : false,
      received,
      sentMs: meta && typeof meta.sent_ms === 'number' ? meta.sent_ms : null,
    });
  }

  call(name, ...args) {
    const fn = this.h[name];
    if (fn) fn.call(this.h, ...args);
  }
}

/**
 * WorkerSocket is the part of the WebSocket interface RunStream uses
 * (onmessage, onclose, onerror, close), backed by a websocket on a worker
 * thread. Binary messages arrive as ArrayBuffers.
 */
class WorkerSocket {
  constructor(url) {
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    this.binaryType = 'arraybuffer';
    this.closed = false;
    this.worker = new Worker(new URL('./socket-worker.js', import.meta.url));
    this.worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.ev === 'message') {
        if (this.onmessage) this.onmessage({ data: m.data });
      } else if (m.ev === 'error') {
        if (this.onerror) this.onerror({});
      } else if (m.ev === 'close') {
        this.end({ code: m.code, reason: m.reason, wasClean: m.wasClean });
      }
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      this.end({ code: 1006, reason: 'socket worker failed', wasClean: false });
    };
    this.worker.postMessage({ op: 'open', url: new URL(url, location.href).href });
  }

  close(code, reason) {
    if (this.closed) return;
    this.worker.postMessage({ op: 'close', code, reason });
  }

  end(ev) {
    if (this.closed) return;
    this.closed = true;
    this.worker.terminate();
    if (this.onclose) this.onclose(ev);
  }
}

/**
 * openSocket opens the feed, on a worker thread when asked and the browser
 * can, else here.
 */
function openSocket(url, worker) {
  if (worker && typeof Worker === 'function') {
    try {
      return new WorkerSocket(url);
    } catch {
      // No workers (a locked-down browser): a plain socket still works.
    }
  }
  return new WebSocket(url);
}

function defaultURL(runID) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws/runs/${encodeURIComponent(runID)}`;
}
