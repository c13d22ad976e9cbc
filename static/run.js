// The run page: the live scatter, charts, timeline, controls and the panels
// that explain a selected point and the pairs the loss sees. It finds the
// server-rendered elements by data-testid (docs/protocol.md, "Page
// contract") and adds its own children inside them.
//
// This file only composes the page's modules (static/run/): each gets the
// shared context app (state.js, "App") and, explicitly, the functions of the
// modules it drives. Modules made earlier are handed to later ones, never
// the other way round, so nothing is used before it exists.

import { Previews } from './previews.js';
import { findPage } from './run/page.js';
import { newState } from './run/state.js';
import { Timings } from './run/timings.js';
import { newest } from './run/history.js';
import { createMap } from './run/map.js';
import { createMetrics } from './run/metrics.js';
import { createStatus } from './run/status.js';
import { createControls } from './run/controls.js';
import { createSelection } from './run/selection.js';
import { createSearch } from './run/search.js';
import { createPairs } from './run/pairs.js';
import { createOverlay } from './run/overlay.js';
import { createTimeline } from './run/timeline.js';
import { bindKeys } from './run/keyboard.js';
import { connect } from './run/connect.js';
import { createSetupLink } from './run/setup.js';
import { createFollow } from './run/follow.js';
import { claimHandoff, createHandoff } from './run/handoff.js';
import { createExports } from './run/exports.js';
import { createCompareMenu } from './run/compare.js';

// A one-time link from the run's owner brings its control token: taken
// before the page reads the tokens it holds.
const handoffProblem = await claimHandoff(document.querySelector('[data-testid="explorer"]')?.dataset.runId || '');

/** @type {import('./run/state.js').App} */
const app = {
  ...findPage(),
  S: newState(),
  timings: new Timings(),
  previews: new Previews({ kind: '', width: 0, height: 0 }),
  scatter: null,
  map: null,
  reopen: () => {},
  setView: () => {},
};
const { S, ui, runID } = app;

app.map = createMap(app);
createSetupLink(app);
createHandoff(app);
const metrics = createMetrics(app);
const status = createStatus(app);
if (handoffProblem) status.showError(`The handover link did not work: ${handoffProblem}`);
const controls = createControls(app, status);
const selection = createSelection(app);
const search = createSearch(app, { select: selection.select });
const pairs = createPairs(app);
const exports = createExports(app);
createCompareMenu(app);
/** @type {ReturnType<typeof createFollow> | null} */
let follow = null; // made once the timeline it drives exists
const timeline = createTimeline(app, {
  shown(e) {
    metrics.showEpoch(e);
    selection.epochShown();
    search.epochShown();
    pairs.epochShown();
    exports.epochShown();
    if (follow) follow.changed(); // a presenter's class follows at once
  },
  // An epoch a slow connection skipped: connect again from the first
  // epoch missing, or after the end for the whole history.
  missing() {
    if (S.finished) stream.reopen();
    else stream.drop();
  },
});
bindKeys(app, {
  control: controls.control,
  setConn: status.setConn,
  stepView: timeline.stepView,
  goLive: timeline.goLive,
  select: selection.select,
});
follow = createFollow(app, { timeline, selection, search, controls });
app.map.start({
  hover: selection.hover,
  // A learner who picks a point or moves the map looks around on their own.
  click: (i, ev) => {
    follow.moved();
    selection.click(i, ev);
    follow.changed();
  },
  moved: follow.moved,
  overlay: createOverlay(app),
  drawn: (seq) => app.timings.drawn(seq),
});
const stream = connect(app, { status, controls, timeline, metrics, selection, pairs, follow });
app.reopen = () => {
  // The run goes on (resumed, or re-projected): the page waits for a new done.
  S.finished = false;
  stream.reopen();
  controls.updateControls();
};
app.setView = (view) => {
  // A projection of the watcher's own, or the run's: its whole history.
  S.finished = false;
  stream.setView(view);
  controls.updateControls();
};

controls.updateControls();
timeline.update();
stream.start();
window.addEventListener('pagehide', () => stream.close());

// A small read-only handle for debugging in the console and for the
// end-to-end test: where a point is on screen, and a snapshot of the map.
window.explorer = Object.freeze({
  runID,
  epoch: () => S.viewing,
  // Every epoch put on the map, in order, and the playback speed.
  shown: () => [...S.shownLog],
  speed: () => S.speed,
  newest: () => newest(S),
  state: () => S.state,
  live: () => S.isLive,
  points: () => S.labels.length,
  screenOf: (i) => {
    const p = app.scatter ? app.scatter.screenOf(i) : { x: NaN, y: NaN };
    const r = ui.scatter.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  },
  snapshot: () => (app.scatter ? app.scatter.snapshot() : ''),
  // Still, with nothing left to play: the map following the run shows its
  // newest epoch.
  settled: () => (!app.scatter || !app.scatter.animating()) && (!S.follow || S.viewing === newest(S)),
  // Frame timings in performance.now() milliseconds: each live epoch's
  // arrival and first draw (and, from the server's sent_ms, sentMs and
  // sinceSent, the milliseconds from send to draw), the first hello's
  // arrival; the wall-clock time of the first drawn frame.
  timings: () => app.timings.snapshot(app.scatter ? app.scatter.renders : 0),
  // The projection of the epoch on screen, as its frame says.
  projection: () => {
    const e = S.viewing == null ? null : S.epochs.get(S.viewing);
    return e && e.frame ? { method: e.frame.method, dims: e.frame.dims } : null;
  },
  // The stream's connections: the from= each asked for; drop() cuts the
  // socket as a network failure would.
  stream: () => ({ connects: [...stream.connects], live: S.isLive }),
  drop: () => stream.drop(),
  // The projection this page asked the server for: its own, or null for
  // the run's.
  view: () => (S.streamView ? { ...S.streamView } : null),
  // Presenting and following (follow.js), the selection and the camera.
  follow: () => follow.snapshot(),
  selected: () => [...S.selected],
  camera: () => (app.scatter ? app.scatter.camera() : null),
  has: (e) => S.epochs.has(e),
  search: () => (S.search ? { q: S.search.q, method: S.search.method, items: [...S.search.items] } : null),
});
