// A websocket on a worker thread. The run page draws on the main thread;
// while it animates tens of thousands of points on a slow renderer, a
// websocket there receives large frames late (its chunks wait behind the
// rendering). Here the whole message arrives off the main thread and reaches
// it as one task, the bytes transferred, not copied. See WorkerSocket in
// stream.js, the main thread's side.

let ws = null;

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.op === 'open') {
    try {
      ws = new WebSocket(m.url);
    } catch (err) {
      self.postMessage({ ev: 'close', code: 1006, reason: String(err && err.message) });
      return;
    }
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => self.postMessage({ ev: 'open' });
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') self.postMessage({ ev: 'message', data: e.data });
      else self.postMessage({ ev: 'message', data: e.data }, [e.data]);
    };
    ws.onerror = () => self.postMessage({ ev: 'error' });
    ws.onclose = (e) => self.postMessage({ ev: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean });
  } else if (m.op === 'close' && ws) {
    ws.close(m.code, m.reason);
  }
};
