// The run's stream (../stream.js) wired to the page: hello sets up the
// dataset, epochs go into the history and, when following, onto the map;
// state, projection and done messages update the header and controls.

import { binary, runExists } from '../api.js';
import { RunStream } from '../stream.js';
import { Previews } from '../previews.js';
import { addEpoch, newest } from './history.js';
import { GLIDE_MS } from './timeline.js';
import { STATE_TEXT } from './controls.js';
import { buildLegend, applyDatasetFlags } from './dataset.js';

const WORKER_ITEMS = 5000; // from this many points on, the socket runs on a worker

/**
 * connect returns the run's stream, not yet started, with handlers that
 * drive the page through deps.
 * @param {import('./state.js').App} app
 * @param {object} deps
 * @param {ReturnType<typeof import('./status.js').createStatus>} deps.status
 * @param {ReturnType<typeof import('./controls.js').createControls>} deps.controls
 * @param {ReturnType<typeof import('./timeline.js').createTimeline>} deps.timeline
 * @param {ReturnType<typeof import('./metrics.js').createMetrics>} deps.metrics
 * @param {ReturnType<typeof import('./selection.js').createSelection>} deps.selection
 * @param {ReturnType<typeof import('./pairs.js').createPairs>} deps.pairs
 * @param {ReturnType<typeof import('./follow.js').createFollow>} deps.follow
 */
export function connect(app, { status, controls, timeline, metrics, selection, pairs, follow }) {
  const { S, root, runID, timings } = app;
  const { setConn, showError } = status;
  const { setState, setProjection } = controls;
  let helloSeen = false;
  // The history of this connection replaced the epoch on the map (another
  // projection: the run's changed, or the viewer chose their own).
  let viewedReplaced = false;

  // A reconnection asks only for the epochs after those held without a
  // gap, unless the projection is changing (then the whole history).
  const resumeFrom = () => {
    if (S.reprojecting) return 0;
    let e = 0;
    while (S.epochs.has(e)) e++;
    return e;
  };
  // The projection of the frames held: a resumed stream in another one
  // needs the whole history again.
  const heldProjection = () => {
    const e = S.epochs.get(newest(S));
    return e && e.frame ? `${e.frame.method}/${e.frame.dims}` : '';
  };

  const stream = new RunStream(
    runID,
    {
      hello(msg) {
        timings.helloArrived();
        const d = msg.dataset || {};
        S.run = msg.run || S.run;
        if (!helloSeen) {
          helloSeen = true;
          S.dataset = d;
          S.labels = Int32Array.from(d.labels || []);
          S.splits = d.splits || [];
          const maxLabel = S.labels.reduce((a, b) => Math.max(a, b), -1);
          S.classNames = d.class_names && d.class_names.length ? d.class_names : Array.from({ length: maxLabel + 1 }, (_, k) => String(k));
          if (app.scatter) app.scatter.setLabels(S.labels, Math.max(S.classNames.length, maxLabel + 1));
          buildLegend(app);
          app.previews = new Previews(d);
          applyDatasetFlags(app, d);
          if (d.pixels_url) {
            binary(d.pixels_url)
              .then((bytes) => {
                app.previews.setPixels(bytes);
                selection.render();
              })
              .catch((err) => setConn(`no item pictures: ${err.message}`, 'warn'));
          }
        }
        // The stream's projection: the run's, or the viewer's own.
        const p = msg.view || (S.run && S.run.projection);
        if (stream.from > 0 && p) {
          if (heldProjection() && heldProjection() !== `${p.method}/${p.dims}`) {
            stream.restart();
            return;
          }
        }
        if (S.run) {
          setProjection(p);
          setState(S.run.state, S.run.queue_position);
        }
        S.isLive = false;
        viewedReplaced = false;
      },
      epoch(ev) {
        if (S.labels.length && ev.n !== S.labels.length) {
          setConn(`ignored a frame of ${ev.n} points for ${S.labels.length} items`, 'warn');
          return;
        }
        // The epoch on the map, now in another projection.
        const old = ev.epoch === S.viewing ? S.epochs.get(ev.epoch) : null;
        const replaced = !!old && (old.dims !== ev.dims || !old.frame || !ev.frame || old.frame.method !== ev.frame.method);
        addEpoch(S, ev);
        if (!S.isLive) {
          // History: shown once complete.
          if (replaced) viewedReplaced = true;
          return;
        }
        follow.epochArrived(ev.epoch);
        if (S.reprojecting && ev.frame && ev.frame.method === S.reprojecting.method && ev.frame.dims === S.reprojecting.dims && (!ev.backfill || ev.epoch === newest(S))) {
          S.reprojecting = null;
          setConn('live', 'ok');
        }
        if (!ev.backfill && ev.received != null) timings.arrived(ev.epoch, ev.received, ev.sentMs);
        if (ev.epoch === S.viewing && (replaced || ev.backfill)) {
          // The epoch on the map in another projection (re-projected, or
          // the viewer's own): glide PCA → t-SNE.
          timeline.show(ev.epoch, GLIDE_MS * 1.5);
        } else {
          timeline.liveArrived(); // a new epoch, or one the player may be waiting for
        }
        metrics.update();
      },
      live() {
        S.isLive = true;
        setConn('live', 'ok');
        if (S.viewing != null && S.epochs.has(S.viewing)) {
          // A reconnection: the map goes on from where it is, playing what
          // came meanwhile, or stays where the learner looks back.
          if (viewedReplaced) timeline.show(S.viewing, GLIDE_MS * 1.5);
          if (S.follow) timeline.liveArrived();
          else if (!viewedReplaced) timeline.show(S.viewing, GLIDE_MS);
        } else {
          const target = newest(S);
          if (target != null) timeline.show(target, 0);
          else timeline.update();
        }
        pairs.fetch(true);
      },
      state(msg) {
        setState(msg.state, msg.queue_position);
        setConn(`run ${STATE_TEXT[msg.state] || msg.state}`, 'ok');
      },
      projection(msg) {
        // Only the run's own projection's stream is told of a change.
        S.run = { ...(S.run || {}), projection: { method: msg.method, dims: msg.dims } };
        setProjection(S.run.projection);
      },
      viewRefused(reason) {
        controls.viewRefused(reason);
      },
      done(msg) {
        S.finished = true;
        S.reprojecting = null; // whatever was re-projected is in the history
        if (!S.isLive) this.live(); // a finished run's history is complete
        setState(msg.state);
        const n = msg.epochs;
        if (S.precomputed) {
          setConn(msg.state === 'done' ? 'ready to explore' : `run ${STATE_TEXT[msg.state] || msg.state}`, msg.state === 'failed' ? 'error' : 'ok');
          timeline.update();
          return;
        }
        pairs.fetch(true);
        setConn(
          msg.state === 'done' ? `finished: ${n} epoch${n === 1 ? '' : 's'}` : `run ${STATE_TEXT[msg.state] || msg.state} after ${n} epoch${n === 1 ? '' : 's'}`,
          msg.state === 'failed' ? 'error' : 'ok',
        );
        timeline.update();
      },
      error(msg) {
        showError(`The run failed: ${msg.error}`);
      },
      status(text, kind) {
        setConn(text, kind);
      },
      gone() {
        showError('This run does not exist on the server (it may have been restarted).');
      },
    },
    {
      // Large runs receive their frames on a worker thread (see stream.js).
      worker: Number(root.dataset.items) >= WORKER_ITEMS,
      url: root.dataset.wsUrl
        ? new URL(root.dataset.wsUrl, location.href).href.replace(/^http/, 'ws')
        : undefined,
      resumeFrom,
      checkRun: () => runExists(runID),
    },
  );
  return stream;
}
