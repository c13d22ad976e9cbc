// The run page: the live scatter, charts, timeline, controls and the panels
// that explain a selected point and the pairs the loss sees. It finds the
// server-rendered elements by data-testid (docs/protocol.md, "Page
// contract") and adds its own children inside them.

import { request, binary, loadToken } from './api.js';
import { RunStream } from './stream.js';
import { Scatter } from './scatter.js';
import { LineChart, HistChart } from './charts.js';
import { Previews } from './previews.js';
import { PALETTE, POSITIVE, NEGATIVE, colourOf } from './palette.js';

const GLIDE_MS = 450; // one epoch's move
const SCRUB_MS = 250; // moving the timeline by hand
const REPLAY_STEP_MS = 700; // one epoch of replay
const TRAIL_EPOCHS = 12;
const NEIGHBOURS = 10;
const SEARCH_K = 50; // results asked for, listed and highlighted
const SEARCH_DEBOUNCE_MS = 250; // quiet typing time before a search is sent
const SEARCH_REFRESH_MS = 1000; // re-ask at most this often as epochs change
const TIMINGS_KEPT = 500;
const WORKER_ITEMS = 5000; // from this many points on, the socket runs on a worker
const MARGIN_LOSSES = new Set(['contrastive', 'triplet']);
// Coordinates kept for the timeline, in float32 values (256 MB). Past it,
// every other old epoch loses its coordinates (keeping its metrics): a long
// run on 70,000 points would otherwise exhaust a classroom laptop.
const COORD_BUDGET = 64 << 20;

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const root = $('explorer') || document.querySelector('main') || document.body;
const runID = root.dataset.runId || decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const token = loadToken(runID);

/** need returns the element with the test id, creating a stand-in if absent. */
function need(id, tag, parent = root) {
  let node = $(id);
  if (!node) {
    node = document.createElement(tag);
    node.dataset.testid = id;
    parent.append(node);
  }
  return node;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'style') Object.assign(e.style, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c != null));
  return e;
}

const ui = {
  state: need('run-state', 'span'),
  queue: need('queue-position', 'span'),
  conn: need('connection-status', 'span'),
  counter: need('epoch-counter', 'span'),
  scatter: need('scatter', 'canvas'),
  tooltip: need('tooltip', 'div'),
  legend: need('legend', 'ul'),
  controls: need('controls', 'div'),
  pause: need('control-pause', 'button'),
  resume: need('control-resume', 'button'),
  step: need('control-step', 'button'),
  stop: need('control-stop', 'button'),
  method: need('projection-method', 'select'),
  dims: need('projection-dims', 'select'),
  tokenMissing: need('token-missing', 'p'),
  timeline: need('timeline', 'div'),
  quality: need('frame-quality', 'dl'),
  charts: need('charts', 'section'),
  collapse: need('collapse-alert', 'p'),
  pairs: need('pair-panel', 'section'),
  neighbours: need('neighbors-panel', 'section'),
  error: need('error-banner', 'p'),
  title: need('run-title', 'h1'),
};
ui.slider = need('timeline-slider', 'input', ui.timeline);
ui.play = need('timeline-play', 'button', ui.timeline);
ui.live = need('timeline-live', 'button', ui.timeline);
ui.slider.type = 'range';
ui.tooltip.setAttribute('role', 'tooltip');

const S = {
  dataset: null,
  run: null,
  labels: [],
  splits: [],
  classNames: [],
  epochs: new Map(), // epoch -> {metrics, frame, coords, dims}
  order: [], // epoch numbers, ascending
  viewing: null,
  follow: true,
  isLive: false,
  playing: 0,
  state: '',
  finished: false,
  hidden: new Set(),
  selected: [], // item indices; the last one is the focus
  focus: -1,
  near: null, // neighbours answer for the focus
  trails: false,
  hover: -1,
  lastPairs: 0,
  coordFloats: 0,
  precomputed: false,
  search: null, // {q, method, classes, results, items: Set, lit}; null when none
};

// Timings for the page's debugging handle and the browser benchmark: when
// each live epoch's frame arrived and when the scatter first drew it
// (performance.now() milliseconds), how long after the server sent it
// (sinceSent: Date.now() at the draw minus the message's sent_ms, so it
// includes any clock difference between server and browser), and the
// wall-clock time of the first drawn frame.
const perf = {
  arrivals: new Map(), // epoch -> {received, sentMs}, for live epochs not yet drawn
  bySeq: new Map(), // scatter frame number -> {epoch, received, sentMs}
  frames: [], // {epoch, received, drawn, sentMs, sinceSent}
  firstDrawnWall: 0,
  hello: 0, // when the first hello arrived
};

// ---- the scatter ---------------------------------------------------------

const stack = el('div', { class: 'scatter-stack' });
ui.scatter.replaceWith(stack);
const overlay = el('canvas', { class: 'scatter-overlay' });
overlay.setAttribute('aria-hidden', 'true');
const trailsButton = el('button', { type: 'button', text: 'Trails', 'data-testid': 'toggle-trails', title: "Show each selected point's path over the last epochs" });
trailsButton.setAttribute('aria-pressed', 'false');
const resetButton = el('button', { type: 'button', text: 'Reset view', 'data-testid': 'reset-view', title: 'Back to the whole map (double-click does it too)' });
const hint = el('span', { class: 'scatter-hint', 'data-testid': 'scatter-hint' });
const tools = el('div', { class: 'scatter-tools' }, trailsButton, resetButton);
stack.append(ui.scatter, overlay, hint, tools);

let scatter = null;
try {
  scatter = new Scatter(ui.scatter, overlay, { hover: onHover, click: onClick, overlay: drawOverlay, drawn: onDrawn });
} catch (err) {
  stack.classList.add('no-webgl');
  stack.append(el('p', { class: 'scatter-error', text: `Cannot draw the map: ${err.message}. Charts and panels still work.` }));
}
trailsButton.addEventListener('click', () => {
  S.trails = !S.trails;
  trailsButton.setAttribute('aria-pressed', String(S.trails));
  if (scatter) scatter.changed();
});
resetButton.addEventListener('click', () => scatter && scatter.resetView());

function setHint() {
  const three = scatter && scatter.dims === 3;
  hint.textContent = three
    ? 'drag to turn · shift-drag to pan · wheel to zoom · click a point'
    : 'drag to pan · wheel to zoom · click a point';
}
setHint();

// ---- charts --------------------------------------------------------------

function chartCanvas(id) {
  const c = $(id);
  if (c) return c;
  const fig = el('figure', {}, el('figcaption', { text: id.replace('chart-', '') }));
  const canvas = el('canvas', { 'data-testid': id });
  fig.append(canvas);
  ui.charts.append(fig);
  return canvas;
}

const charts = {
  loss: new LineChart(chartCanvas('chart-loss'), [{ name: 'loss', colour: '#0072B2', get: (m) => m.loss }]),
  knn: new LineChart(
    chartCanvas('chart-knn'),
    [
      { name: 'kNN accuracy', colour: '#009E73', get: (m) => m.knn_accuracy },
      { name: 'raw input', colour: '#555555', dash: true, get: (m) => m.raw_knn_accuracy },
    ],
    { fixed: [0, 1] },
  ),
  geometry: new LineChart(chartCanvas('chart-geometry'), [
    { name: 'alignment', colour: '#E69F00', get: (m) => m.alignment },
    { name: 'uniformity', colour: '#CC79A7', get: (m) => m.uniformity },
  ]),
  distances: new HistChart(chartCanvas('chart-distances'), POSITIVE, NEGATIVE),
  rank: new LineChart(chartCanvas('chart-rank'), [{ name: 'effective rank', colour: '#332288', get: (m) => m.effective_rank }]),
};

function updateCharts() {
  const data = S.order.map((e) => ({ epoch: e, metrics: S.epochs.get(e).metrics }));
  for (const k of ['loss', 'knn', 'geometry', 'rank']) charts[k].set(data, S.viewing);
  const cur = S.viewing != null ? S.epochs.get(S.viewing) : null;
  charts.distances.set(cur && cur.metrics, marginOf());
}

// ---- the run's config ----------------------------------------------------

function config() {
  return (S.run && S.run.config) || {};
}

function lossName() {
  return String(config().loss || '');
}

/** marginOf returns the margin of a margin loss, else null. */
function marginOf() {
  const c = config();
  if (!MARGIN_LOSSES.has(lossName())) return null;
  const m = Number(c.margin);
  if (m > 0) return m;
  return lossName() === 'contrastive' ? 1.0 : 0.2; // the trainer's defaults
}

// ---- showing an epoch ----------------------------------------------------

function addEpoch(ev) {
  const old = S.epochs.get(ev.epoch);
  if (old && old.coords) S.coordFloats -= old.coords.length;
  S.coordFloats += ev.coords.length;
  S.epochs.set(ev.epoch, {
    metrics: ev.metrics || (old && old.metrics) || null,
    frame: ev.frame || (old && old.frame) || null,
    coords: ev.coords,
    dims: ev.dims,
  });
  if (!old) {
    let i = S.order.length;
    while (i > 0 && S.order[i - 1] > ev.epoch) i--;
    S.order.splice(i, 0, ev.epoch);
  }
  if (S.coordFloats > COORD_BUDGET) thinHistory();
}

/** thinHistory drops the coordinates of every other older epoch. */
function thinHistory() {
  const keepNewest = 20;
  let keep = true;
  for (let k = 1; k < S.order.length - keepNewest && S.coordFloats > COORD_BUDGET * 0.75; k++) {
    const e = S.epochs.get(S.order[k]);
    if (!e.coords || S.order[k] === S.viewing) continue;
    keep = !keep;
    if (!keep) {
      S.coordFloats -= e.coords.length;
      e.coords = null;
    }
  }
}

/** coordsOf returns the coordinates shown for an epoch: its own or, when
 * thinned, the nearest earlier epoch's. */
function coordsOf(epoch) {
  let k = S.order.indexOf(epoch);
  while (k >= 0) {
    const e = S.epochs.get(S.order[k]);
    if (e.coords) return e;
    k--;
  }
  return null;
}

function newest() {
  return S.order.length ? S.order[S.order.length - 1] : null;
}

/** show puts an epoch on the map, gliding there over ms milliseconds. */
function show(epoch, ms) {
  const e = S.epochs.get(epoch);
  if (!e) return;
  S.viewing = epoch;
  const c = coordsOf(epoch);
  if (scatter && c && S.labels.length === c.coords.length / c.dims) {
    scatter.setFrame(c.coords, c.dims, ms);
    setHint();
    if (perf.arrivals.has(epoch)) {
      perf.bySeq.set(scatter.frameSeq, { epoch, ...perf.arrivals.get(epoch) });
      perf.arrivals.delete(epoch);
    }
  }
  updateTimeline();
  updateCharts();
  updateQuality(e.frame, e.metrics);
  ui.collapse.hidden = !(e.metrics && e.metrics.collapsed);
  if (S.focus >= 0) fetchNeighbours();
  if (S.search && S.search.method !== 'features') refreshSearch();
}

/** onDrawn notes when the scatter first draws a frame (see perf). */
function onDrawn(seq) {
  const now = performance.now();
  if (!perf.firstDrawnWall) perf.firstDrawnWall = performance.timeOrigin + now;
  const t = perf.bySeq.get(seq);
  if (!t) return;
  perf.bySeq.delete(seq);
  const sinceSent = t.sentMs != null ? Date.now() - t.sentMs : null;
  perf.frames.push({ epoch: t.epoch, received: t.received, drawn: now, sentMs: t.sentMs, sinceSent });
  if (perf.frames.length > TIMINGS_KEPT) perf.frames.splice(0, perf.frames.length - TIMINGS_KEPT);
  // Frames conflated in the scatter (a newer one set before drawing) are
  // never drawn themselves: forget them.
  for (const k of perf.bySeq.keys()) if (k < seq) perf.bySeq.delete(k);
}

function updateTimeline() {
  const max = Math.max(0, S.order.length - 1);
  ui.slider.min = '0';
  ui.slider.max = String(max);
  ui.slider.disabled = S.order.length < 2;
  const idx = S.order.indexOf(S.viewing);
  if (idx >= 0) ui.slider.value = String(idx);
  const E = Number(root.dataset.epochs) || (S.run && (S.run.epochs || config().epochs)) || '?';
  const v = S.viewing;
  const latest = newest();
  let text = v == null ? `epoch – / ${E}` : `epoch ${v} / ${E}`;
  if (v != null && !S.follow && latest !== v) text += ` (newest ${latest})`;
  ui.counter.textContent = text;
  ui.slider.setAttribute('aria-valuetext', text);
  ui.live.setAttribute('aria-pressed', String(S.follow));
  ui.live.classList.toggle('following', S.follow);
  ui.play.textContent = S.playing ? '❚❚ Pause replay' : '▶ Replay';
  ui.play.disabled = S.order.length < 2;
  timelineLabel.textContent = S.follow ? (S.finished ? 'last epoch' : 'following live') : 'looking back';
}
const timelineLabel = el('span', { class: 'timeline-mode', 'data-testid': 'timeline-mode' });
ui.timeline.append(timelineLabel);
if (!ui.play.textContent) ui.play.textContent = '▶ Replay';
if (!ui.live.textContent) ui.live.textContent = 'Live';

function updateQuality(frame, metrics) {
  ui.quality.replaceChildren();
  if (S.precomputed && metrics && metrics.has_knn && Number.isFinite(metrics.knn_accuracy)) {
    // No training, so no charts: the one figure there is goes here.
    ui.quality.append(el('dt', { text: 'kNN accuracy' }), el('dd', { text: num(metrics.knn_accuracy, 3) }));
  }
  if (!frame) return;
  const method = frame.method === 'tsne' ? 't-SNE' : frame.method === 'pca' ? 'PCA' : frame.method;
  const rows = [
    ['projection', method && frame.dims ? `${method}, ${frame.dims}D` : method],
    // Zero means "not measured for this frame": a real layout never scores 0.
    ['trustworthiness', frame.trustworthiness > 0 ? num(frame.trustworthiness, 3) : null],
    ['kNN preserved', frame.knn_preservation > 0 ? num(frame.knn_preservation, 3) : null],
    ['t-SNE KL', frame.method === 'tsne' && frame.kl > 0 ? num(frame.kl, 3) : null],
  ];
  for (const [k, v] of rows) {
    if (v == null || v === '') continue;
    ui.quality.append(el('dt', { text: k }), el('dd', { text: v }));
  }
}

function num(v, digits) {
  return Number.isFinite(v) ? Number(v).toFixed(digits) : null;
}

// ---- timeline ------------------------------------------------------------

function goLive() {
  stopReplay();
  S.follow = true;
  const e = newest();
  if (e != null && e !== S.viewing) show(e, GLIDE_MS);
  else updateTimeline();
}

function goTo(index, ms) {
  if (S.order.length === 0) return;
  const i = Math.max(0, Math.min(S.order.length - 1, index));
  S.follow = false;
  show(S.order[i], ms);
}

function stepView(delta) {
  stopReplay();
  goTo(S.order.indexOf(S.viewing) + delta, SCRUB_MS);
}

function stopReplay() {
  if (S.playing) clearInterval(S.playing);
  S.playing = 0;
  updateTimeline();
}

function startReplay() {
  if (S.order.length < 2) return;
  let i = S.order.indexOf(S.viewing);
  if (i < 0 || i >= S.order.length - 1) i = 0;
  goTo(i, 0);
  S.playing = setInterval(() => {
    const j = S.order.indexOf(S.viewing) + 1;
    if (j >= S.order.length) {
      stopReplay();
      return;
    }
    goTo(j, REPLAY_STEP_MS * 0.85);
  }, REPLAY_STEP_MS);
  updateTimeline();
}

ui.slider.addEventListener('input', () => {
  stopReplay();
  const i = Number(ui.slider.value);
  // Dragging to the end means "now": follow the run again.
  if (i >= S.order.length - 1 && !S.finished) goLive();
  else goTo(i, SCRUB_MS);
});
ui.play.addEventListener('click', () => (S.playing ? stopReplay() : startReplay()));
ui.live.addEventListener('click', goLive);

// ---- state and controls --------------------------------------------------

const STATE_TEXT = {
  queued: 'queued',
  running: 'training',
  paused: 'paused',
  done: 'finished',
  stopped: 'stopped',
  failed: 'failed',
};

function ordinal(k) {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = k % 100;
  return k + (s[(v - 20) % 10] || s[v] || s[0]);
}

function setState(state, queuePosition) {
  if (state && state !== S.state) {
    S.state = state;
    ui.state.textContent = S.precomputed && state === 'done' ? 'ready' : STATE_TEXT[state] || state;
    ui.state.dataset.state = state;
    root.dataset.state = state;
  }
  const queued = S.state === 'queued';
  ui.queue.hidden = !queued;
  ui.queue.textContent = queued ? (queuePosition >= 1 ? `${ordinal(queuePosition)} in line` : 'waiting in line') : '';
  updateControls();
  if (scatter) scatter.changed(); // the empty-map message mentions the state
}

function updateControls() {
  const owner = token !== '';
  ui.tokenMissing.hidden = owner;
  if (owner) ui.tokenMissing.textContent = '';
  else if (!ui.tokenMissing.textContent) ui.tokenMissing.textContent = "watching: only the run's owner can control it";
  const s = S.state;
  const over = S.finished || s === 'done' || s === 'stopped' || s === 'failed' || s === 'interrupted';
  ui.pause.disabled = !owner || s !== 'running';
  // An interrupted run (its server stopped or crashed) resumes from its
  // last checkpoint.
  ui.resume.disabled = !owner || (s !== 'paused' && !(s === 'interrupted' && S.run && S.run.resumable));
  ui.step.disabled = !owner || s !== 'paused';
  ui.stop.disabled = !owner || over;
  ui.method.disabled = !owner || s === 'failed';
  ui.dims.disabled = !owner || s === 'failed';
  ui.controls.classList.toggle('watching', !owner);
}

async function control(action) {
  const wasInterrupted = S.state === 'interrupted';
  try {
    const summary = await request('POST', `/api/runs/${encodeURIComponent(runID)}/${action}`, { token });
    clearError();
    if (wasInterrupted && action === 'resume') {
      // The stream of an interrupted run has ended: a new one follows the
      // resumed training.
      window.location.reload();
      return;
    }
    if (summary) applySummary(summary);
  } catch (err) {
    showError(err.message);
  }
}

for (const [b, action] of [
  [ui.pause, 'pause'],
  [ui.resume, 'resume'],
  [ui.step, 'step'],
  [ui.stop, 'stop'],
]) {
  if (!b.textContent) b.textContent = action[0].toUpperCase() + action.slice(1);
  b.addEventListener('click', () => control(action));
}

async function changeProjection() {
  const body = { method: ui.method.value, dims: Number(ui.dims.value) };
  try {
    const summary = await request('POST', `/api/runs/${encodeURIComponent(runID)}/projection`, { token, body });
    clearError();
    // The selects keep the choice: the answer may still name the old
    // projection until the server switches (a "projection" message).
    if (summary) setState(summary.state, summary.queue_position);
    S.reprojecting = body;
    setConn(`re-projecting every epoch with ${body.method === 'tsne' ? 't-SNE' : 'PCA'} in ${body.dims}D…`, 'warn');
  } catch (err) {
    showError(err.message);
    setProjection(S.run && S.run.projection);
  }
}
ui.method.addEventListener('change', changeProjection);
ui.dims.addEventListener('change', changeProjection);

function setProjection(p) {
  if (!p) return;
  if (p.method) ensureOption(ui.method, p.method, p.method === 'tsne' ? 't-SNE' : p.method.toUpperCase());
  if (p.dims) ensureOption(ui.dims, String(p.dims), `${p.dims}D`);
}

function ensureOption(select, value, label) {
  if (![...select.options].some((o) => o.value === value)) select.append(el('option', { value, text: label }));
  select.value = value;
}

function applySummary(summary) {
  S.run = { ...(S.run || {}), ...summary };
  if (summary.projection) setProjection(summary.projection);
  setState(summary.state, summary.queue_position);
}

function showError(msg) {
  ui.error.textContent = msg;
  ui.error.hidden = false;
}

function clearError() {
  if (S.state !== 'failed') {
    ui.error.hidden = true;
    ui.error.textContent = '';
  }
}

function setConn(text, kind) {
  ui.conn.textContent = text;
  ui.conn.dataset.kind = kind;
}

// ---- keyboard ------------------------------------------------------------

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
  const onButton = t && t.tagName === 'BUTTON';
  switch (ev.key) {
    case ' ':
      if (onButton) return; // the focused button's own click
      ev.preventDefault();
      if (!token) {
        setConn("watching: only the run's owner can pause it", 'warn');
        return;
      }
      if (S.state === 'running') control('pause');
      else if (S.state === 'paused') control('resume');
      break;
    case 'ArrowLeft':
      ev.preventDefault();
      stepView(-1);
      break;
    case 'ArrowRight':
      ev.preventDefault();
      stepView(1);
      break;
    case 'l':
    case 'L':
      goLive();
      break;
    case 'Escape':
      select(-1, false);
      break;
    default:
  }
});

// ---- what kind of data and run -------------------------------------------

/**
 * applyDatasetFlags marks synthetic data and sets the page up for
 * precomputed embeddings, which are explored rather than trained.
 */
function applyDatasetFlags(d) {
  if (d.synthetic && !$('synthetic-badge')) {
    const badge = el('span', {
      class: 'badge synthetic',
      'data-testid': 'synthetic-badge',
      text: 'synthetic data',
      title: 'These items were made up by a program, not collected from real people or things.',
    });
    ui.title.after(badge);
  }
  if (d.precomputed) {
    S.precomputed = true;
    root.dataset.precomputed = 'true';
    if (!$('precomputed-note')) {
      ui.counter.after(
        el('span', {
          class: 'precomputed-note',
          'data-testid': 'precomputed-note',
          text: 'precomputed embeddings: exploring, not training',
        }),
      );
    }
    setHint();
  }
}

// ---- legend --------------------------------------------------------------

function buildLegend() {
  ui.legend.replaceChildren();
  // Room for long class names (e.g. "verb.communication") beside the count.
  const longest = S.classNames.reduce((m, name) => Math.max(m, String(name).length), 0);
  root.style.setProperty('--side', longest > 11 ? `${Math.min(18, 7 + longest * 0.55)}rem` : '13rem');
  const counts = new Map();
  for (const l of S.labels) counts.set(l, (counts.get(l) || 0) + 1);
  const entries = S.classNames.map((name, k) => [k, name]);
  if (counts.has(-1)) entries.push([-1, 'unlabelled']);
  for (const [k, name] of entries) {
    const b = el(
      'button',
      { type: 'button', class: 'legend-item', title: 'Show or hide this class' },
      el('span', { class: 'swatch', style: { background: colourOf(k) } }),
      el('span', { class: 'legend-name', text: name }),
      el('span', { class: 'legend-count', text: String(counts.get(k) || 0) }),
    );
    b.dataset.label = String(k);
    b.setAttribute('aria-pressed', 'true');
    b.addEventListener('click', () => {
      if (S.hidden.has(k)) S.hidden.delete(k);
      else S.hidden.add(k);
      b.setAttribute('aria-pressed', String(!S.hidden.has(k)));
      if (scatter) scatter.setHidden(S.hidden);
    });
    ui.legend.append(el('li', {}, b));
  }
  if (S.classNames.length > PALETTE.length) {
    ui.legend.append(el('li', { class: 'legend-note', text: `colours repeat after ${PALETTE.length} classes` }));
  }
}

// ---- hover and tooltip ---------------------------------------------------

let previews = new Previews({ kind: '', width: 0, height: 0 });

function labelName(i) {
  const l = S.labels[i];
  return l >= 0 ? S.classNames[l] ?? String(l) : 'unlabelled';
}

function labelChip(i) {
  const l = S.labels[i];
  return el('span', { class: 'chip' }, el('span', { class: 'swatch', style: { background: colourOf(l) } }), el('span', { text: labelName(i) }));
}

function onHover(i, x, y) {
  S.hover = i;
  overlay.style.cursor = i >= 0 ? 'pointer' : '';
  if (i < 0) {
    ui.tooltip.hidden = true;
    if (scatter) scatter.changed();
    return;
  }
  const split = S.splits[i] === 1 ? 'held out' : 'training';
  const meta = el('div', { class: 'tooltip-meta', text: `item ${i} · ${split}` });
  const words = previews.isImage() ? '' : previews.words(i);
  ui.tooltip.classList.toggle('words', words !== '');
  if (words) {
    // Sentences and names are the point of these items: they come first,
    // large, with the class and item number under them.
    ui.tooltip.replaceChildren(
      el('p', { class: 'tooltip-words', text: words }),
      el('div', { class: 'tooltip-head' }, labelChip(i), meta),
    );
  } else {
    // A picture when there is one; plain vectors have only their label.
    const picture = previews.isImage() ? previews.item(i, 96) : null;
    ui.tooltip.replaceChildren(...[picture, el('div', { class: 'tooltip-text' }, labelChip(i), meta)].filter(Boolean));
  }
  ui.tooltip.hidden = false;
  const r = stack.getBoundingClientRect();
  const tw = ui.tooltip.offsetWidth;
  const th = ui.tooltip.offsetHeight;
  let left = r.left + x + 18;
  let top = r.top + y + 18;
  if (left + tw > window.innerWidth - 8) left = r.left + x - tw - 18;
  if (top + th > window.innerHeight - 8) top = r.top + y - th - 18;
  ui.tooltip.style.left = `${Math.max(4, left)}px`;
  ui.tooltip.style.top = `${Math.max(4, top)}px`;
  scatter.changed();
}

// ---- selection and neighbours --------------------------------------------

function onClick(i, ev) {
  // The neighbours panel now tells about the point; the tooltip would only
  // cover the links drawn from it. It comes back when the mouse moves.
  ui.tooltip.hidden = true;
  select(i, ev.shiftKey);
}

function select(i, add) {
  if (i < 0) {
    S.selected = [];
    S.focus = -1;
    S.near = null;
    renderNeighbours();
  } else {
    S.selected = add ? [...S.selected.filter((j) => j !== i), i] : [i];
    S.focus = i;
    S.near = null;
    renderNeighbours();
    fetchNeighbours();
  }
  if (scatter) scatter.changed();
}

// Neighbours are fetched at most every NEAR_GAP_MS, for the focus and the
// epoch shown when the request starts: during fast training or replay the
// epoch changes many times a second, and a debounce would never fire.
const NEAR_GAP_MS = 400;
let nearTimer = 0;
let nearBusy = false;
let nearAgain = false;
let nearLast = 0;

function fetchNeighbours() {
  if (nearBusy) {
    nearAgain = true;
    return;
  }
  if (nearTimer) return;
  const wait = Math.max(30, nearLast + NEAR_GAP_MS - performance.now());
  nearTimer = setTimeout(loadNeighbours, wait);
}

async function loadNeighbours() {
  nearTimer = 0;
  if (S.focus < 0 || S.viewing == null) return;
  nearBusy = true;
  nearAgain = false;
  nearLast = performance.now();
  const item = S.focus;
  const epoch = S.viewing;
  // Euclidean, like the distance histograms and the margin of margin losses.
  const q = new URLSearchParams({ item: String(item), epoch: String(epoch), k: String(NEIGHBOURS), metric: 'euclidean' });
  try {
    const ans = await request('GET', `/api/runs/${encodeURIComponent(runID)}/neighbors?${q}`);
    if (item === S.focus) {
      S.near = ans;
      renderNeighbours();
      if (scatter) scatter.changed();
    }
  } catch (err) {
    if (item === S.focus) {
      S.near = { error: err.message };
      renderNeighbours();
    }
  } finally {
    nearBusy = false;
    if (nearAgain) fetchNeighbours();
  }
}

const neighboursBody = el('div', { class: 'panel-body' });
ui.neighbours.append(neighboursBody);

function renderNeighbours() {
  const i = S.focus;
  if (i < 0) {
    neighboursBody.replaceChildren();
    return;
  }
  const words = previews.isImage() ? '' : previews.words(i);
  const head = el(
    'div',
    { class: words ? 'selected-item words' : 'selected-item' },
    words ? el('p', { class: 'selected-words', 'data-testid': 'selected-words', text: words }) : previews.item(i, 112),
    el(
      'div',
      {},
      el('div', { class: 'selected-title', text: `Item ${i}` }),
      labelChip(i),
      el('div', { class: 'tooltip-meta', text: S.splits[i] === 1 ? 'held out from training' : 'a training item' }),
    ),
  );
  const body = [head];
  const near = S.near;
  if (!near) body.push(el('p', { class: 'panel-hint', text: 'loading neighbours…' }));
  else if (near.error) body.push(el('p', { class: 'panel-error', text: near.error }));
  else {
    body.push(
      el(
        'div',
        { class: 'neighbour-columns' },
        neighbourList(`In the embedding (epoch ${near.epoch})`, near.embedding || [], 'neighbors-embedding'),
        neighbourList('In the raw input', near.input || [], 'neighbors-input'),
      ),
    );
    const key = el('p', { class: 'panel-hint overlay-key' });
    key.append(
      el('span', { class: 'key-line', style: { borderColor: POSITIVE } }),
      ' its nearest positives  ',
      el('span', { class: 'key-line dashed', style: { borderColor: NEGATIVE } }),
      ' its hardest negatives',
    );
    const m = marginOf();
    if (m != null) key.append(`  ◯ margin ${m} (drawn approximately: the map is a projection)`);
    body.push(key);
  }
  neighboursBody.replaceChildren(...body);
}

function neighbourList(title, items, testid) {
  const mine = S.labels[S.focus];
  const same = items.filter((n) => S.labels[n.item] === mine).length;
  const list = el('ol', { class: 'neighbour-list' });
  for (const n of items) {
    const li = el(
      'li',
      { class: S.labels[n.item] === mine ? 'same' : 'other' },
      previews.item(n.item, 48),
      el('span', { class: 'nb-label' }, labelChip(n.item)),
      el('span', { class: 'nb-distance', text: Number.isFinite(n.distance) ? n.distance.toFixed(2) : '' }),
    );
    li.title = `item ${n.item}: click to select`;
    li.addEventListener('click', () => select(n.item, false));
    list.append(li);
  }
  return el(
    'div',
    { class: 'neighbour-column', 'data-testid': testid },
    el('h3', { text: title }),
    el('p', { class: 'nb-summary', text: items.length ? `${same} of ${items.length} share its class` : 'none' }),
    list,
  );
}
renderNeighbours();

// ---- the overlay: selection, links, margin, trails -------------------------

function drawOverlay(ctx, view) {
  if (!view.everDrawn) {
    ctx.font = '22px system-ui, sans-serif';
    ctx.fillStyle = '#555';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    let msg = 'waiting for the first epoch…';
    if (S.state === 'queued') msg = `Queued, ${ui.queue.textContent}: training starts when another run finishes.`;
    const lines = wrap(ctx, msg, view.cssW * 0.85);
    lines.forEach((line, k) => ctx.fillText(line, view.cssW / 2, view.cssH / 2 + (k - (lines.length - 1) / 2) * 30));
    return;
  }
  const r = view.pointSize() / 2;
  drawSearch(ctx, view);
  if (S.trails) for (const i of S.selected) drawTrail(ctx, view, i);
  const f = S.focus;
  if (f >= 0) {
    const p = view.screenOf(f);
    const near = S.near && !S.near.error ? S.near : null;
    if (near) {
      const m = marginOf();
      if (m != null) drawMargin(ctx, view, p, near, m);
      ctx.lineWidth = 2.5;
      for (const [list, colour, dash] of [
        [near.negatives || [], NEGATIVE, [7, 5]],
        [near.positives || [], POSITIVE, []],
      ]) {
        ctx.strokeStyle = colour;
        ctx.setLineDash(dash);
        for (const n of list) {
          if (!view.visible(n.item)) continue;
          const q = view.screenOf(n.item);
          ctx.beginPath();
          ctx.moveTo(p.x, p.y);
          ctx.lineTo(q.x, q.y);
          ctx.stroke();
        }
      }
      ctx.setLineDash([]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#111';
      for (const n of near.embedding || []) {
        const q = view.screenOf(n.item);
        ring(ctx, q.x, q.y, r + 3);
      }
    }
  }
  for (const i of S.selected) {
    const p = view.screenOf(i);
    ctx.lineWidth = 6;
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ring(ctx, p.x, p.y, r + 6);
    ctx.lineWidth = 3;
    ctx.strokeStyle = '#111';
    ring(ctx, p.x, p.y, r + 6);
  }
  if (S.hover >= 0) {
    const p = view.screenOf(S.hover);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#111';
    ring(ctx, p.x, p.y, r + 2);
  }
}

/** wrap splits text into lines no wider than width in the context's font. */
function wrap(ctx, text, width) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function ring(ctx, x, y, radius) {
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, 2 * Math.PI);
  ctx.stroke();
}

/**
 * drawMargin draws the margin around the focus. The map is a projection, so
 * embedding distances become screen distances only approximately: the scale
 * is the median ratio of screen to embedding distance over the focus's listed
 * positives and negatives.
 */
function drawMargin(ctx, view, p, near, margin) {
  const ratios = [];
  for (const n of [...(near.positives || []), ...(near.negatives || [])]) {
    // Tiny distances (a collapsed class) give no usable scale.
    if (!(n.distance > 0.05)) continue;
    const q = view.screenOf(n.item);
    ratios.push(Math.hypot(q.x - p.x, q.y - p.y) / n.distance);
  }
  if (ratios.length === 0) return;
  ratios.sort((a, b) => a - b);
  const scale = ratios[Math.floor(ratios.length / 2)];
  let radius = margin;
  if (lossName() === 'triplet') {
    // Triplet wants negatives beyond the positives' distance plus the margin.
    const pos = (near.positives || []).map((n) => n.distance).filter(Number.isFinite);
    if (pos.length) radius += pos.reduce((a, b) => a + b, 0) / pos.length;
  }
  ctx.save();
  ctx.setLineDash([4, 4]);
  ctx.lineWidth = 2;
  ctx.strokeStyle = 'rgba(0,0,0,0.6)';
  ctx.beginPath();
  ctx.arc(p.x, p.y, radius * scale, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.restore();
}

function drawTrail(ctx, view, i) {
  const idx = S.order.indexOf(S.viewing);
  if (idx < 1) return;
  const cur = coordsOf(S.viewing);
  if (!cur) return;
  const dims = cur.dims;
  const pts = [];
  for (let k = Math.max(0, idx - TRAIL_EPOCHS); k < idx; k++) {
    const e = S.epochs.get(S.order[k]);
    if (!e.coords || e.dims !== dims) continue;
    const c = e.coords;
    pts.push(view.project(c[i * dims], c[i * dims + 1], dims === 3 ? c[i * dims + 2] : 0));
  }
  pts.push(view.screenOf(i));
  // A dark line on a white halo reads on any class colour; dots mark epochs
  // and the line fades into the past.
  ctx.save();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const [colour, width] of [
    ['rgba(255,255,255,0.85)', 7],
    ['#111', 3],
  ]) {
    for (let k = 1; k < pts.length; k++) {
      ctx.globalAlpha = 0.3 + (0.7 * k) / pts.length;
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(pts[k - 1].x, pts[k - 1].y);
      ctx.lineTo(pts[k].x, pts[k].y);
      ctx.stroke();
    }
  }
  ctx.globalAlpha = 1;
  ctx.fillStyle = colourOf(S.labels[i]);
  ctx.strokeStyle = '#111';
  ctx.lineWidth = 1.5;
  for (let k = 0; k < pts.length - 1; k++) {
    ctx.beginPath();
    ctx.arc(pts[k].x, pts[k].y, 3.5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
  ctx.restore();
}

// ---- pairs ---------------------------------------------------------------

const pairsBody = el('div', { class: 'panel-body' });
const pairsButton = el('button', { type: 'button', text: 'Other pairs', 'data-testid': 'pairs-refresh' });
pairsButton.addEventListener('click', () => fetchPairs(true));
ui.pairs.append(pairsButton, pairsBody);
pairsBody.append(el('p', { class: 'panel-hint', text: 'Example pairs appear once training starts.' }));
let pairsBusy = false;

async function fetchPairs(force) {
  if (S.precomputed) return; // nothing was trained, so there are no pairs
  const now = Date.now();
  if (pairsBusy || (!force && now - S.lastPairs < 3000)) return;
  pairsBusy = true;
  S.lastPairs = now;
  try {
    const ans = await request('GET', `/api/runs/${encodeURIComponent(runID)}/pairs?n=6`);
    renderPairs(ans);
  } catch (err) {
    if (force) pairsBody.replaceChildren(el('p', { class: 'panel-error', text: err.message }));
  } finally {
    pairsBusy = false;
  }
}

/** pairViews shows what the encoder saw of both sides of a pair. */
function pairViews(p) {
  if (previews.isImage() || !previews.hasWords()) {
    return el('span', { class: 'pair-views' }, previews.values(p.view_a || [], 64), previews.values(p.view_b || [], 64));
  }
  // Text and interactions: the (possibly augmented) texts, else the names.
  const side = (text, item) => el('span', { class: 'pair-words', text: text || previews.words(item) || `item ${item}` });
  return el('span', { class: 'pair-views words' }, side(p.text_a, p.a), side(p.text_b, p.b));
}

function renderPairs(ans) {
  const pairs = (ans && ans.pairs) || [];
  if (pairs.length === 0) {
    pairsBody.replaceChildren(el('p', { class: 'panel-hint', text: 'No pairs yet.' }));
    return;
  }
  const sorted = [...pairs].sort((a, b) => Number(b.positive) - Number(a.positive));
  const list = el('ul', { class: 'pair-list' });
  for (const p of sorted) {
    const kind = p.positive ? 'positive' : 'negative';
    const labelA = S.labels[p.a] >= 0 ? S.classNames[S.labels[p.a]] : '';
    const labelB = S.labels[p.b] >= 0 ? S.classNames[S.labels[p.b]] : '';
    list.append(
      el(
        'li',
        { class: `pair ${kind}` },
        pairViews(p),
        el(
          'span',
          { class: 'pair-text' },
          el('strong', { text: p.positive ? 'positive: pull together' : 'negative: push apart' }),
          el('span', { text: labelA || labelB ? `${labelA} · ${labelB}` : `items ${p.a} · ${p.b}` }),
          el('span', { class: 'pair-distance', text: Number.isFinite(p.distance) ? `distance ${p.distance.toFixed(2)}` : '' }),
        ),
      ),
    );
  }
  pairsBody.replaceChildren(el('p', { class: 'panel-hint', text: `From a batch of epoch ${ans.epoch}` }), list);
}

// ---- search --------------------------------------------------------------

// The server renders the search box; a page without one gets it beside the
// legend.
ui.searchInput = $('search-input') || need('search-input', 'input', document.querySelector('.side') || root);
ui.searchResults = $('search-results') || need('search-results', 'ol', ui.searchInput.parentElement || root);
// Search belongs next to the map it lights up: in the side column, under
// the controls, rather than below the fold.
{
  const panel = ui.searchInput.closest('section');
  const side = ui.controls.parentElement;
  if (panel && side && side !== root && !panel.contains(side) && !side.contains(panel)) {
    panel.classList.add('in-side');
    side.insertBefore(panel, ui.controls.nextSibling);
  }
}
ui.searchInput.type = 'search';
ui.searchInput.maxLength = 200;
ui.searchInput.autocomplete = 'off';
ui.searchInput.spellcheck = false;
if (!ui.searchInput.placeholder) ui.searchInput.placeholder = 'Search items…';
const searchSummary = el('p', { class: 'search-summary', 'data-testid': 'search-summary', role: 'status' });
searchSummary.setAttribute('aria-live', 'polite');
ui.searchResults.before(searchSummary);

// How each search method found its results: a short note, and the whole
// story for the summary's tooltip.
const SEARCH_HOW = {
  features: ['by their words', 'Matched by the words and letter groups of the texts themselves, not by the encoder, so these results stay the same every epoch. Click one to see its neighbours in the embedding.'],
  encoder: ['by the encoder', 'The query was embedded by the encoder and the nearest items found.'],
  names: ['by name, then nearest', 'Items whose name contains the words, then the items nearest to the best match in the embedding.'],
  labels: ['most typical first', 'Items of the matching class, the nearest to their class mean in the embedding first.'],
  embedding: ['nearest in the embedding', 'The items nearest in the embedding.'],
};
let searchTimer = 0;
let searchAbort = null;
let searchLast = 0;

/** debounceSearch searches once typing has paused. */
function debounceSearch() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, SEARCH_DEBOUNCE_MS);
}

/**
 * refreshSearch asks again for the epoch now shown, at most every
 * SEARCH_REFRESH_MS: results found through the embedding move with it.
 */
function refreshSearch() {
  if (searchTimer || searchAbort) return;
  searchTimer = setTimeout(runSearch, Math.max(0, searchLast + SEARCH_REFRESH_MS - performance.now()));
}

ui.searchInput.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = 0;
  if (ui.searchInput.value.trim() === '') {
    clearSearch();
    return;
  }
  debounceSearch();
});
ui.searchInput.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    ev.preventDefault();
    clearTimeout(searchTimer);
    searchTimer = 0;
    runSearch();
  } else if (ev.key === 'Escape') {
    ui.searchInput.value = '';
    clearSearch();
  }
});

async function runSearch() {
  searchTimer = 0;
  const q = ui.searchInput.value.trim();
  if (!q) {
    clearSearch();
    return;
  }
  if (S.viewing == null) {
    searchSummary.textContent = 'Search works once the first epoch is on the map.';
    return;
  }
  if (searchAbort) searchAbort.abort();
  const ctl = new AbortController();
  searchAbort = ctl;
  searchLast = performance.now();
  const params = new URLSearchParams({ q, k: String(SEARCH_K), epoch: String(S.viewing) });
  try {
    const ans = await request('GET', `/api/runs/${encodeURIComponent(runID)}/search?${params}`, { signal: ctl.signal });
    if (ctl !== searchAbort || ui.searchInput.value.trim() !== q) return;
    applySearch(q, ans || {});
  } catch (err) {
    if (err.name === 'AbortError' || ctl !== searchAbort) return;
    searchSummary.textContent = err.message;
    searchSummary.classList.add('panel-error');
  } finally {
    if (ctl === searchAbort) searchAbort = null;
  }
}

function applySearch(q, ans) {
  const results = Array.isArray(ans.results) ? ans.results.filter((r) => r.item >= 0 && r.item < S.labels.length) : [];
  const classes = Array.isArray(ans.classes) ? ans.classes : [];
  const items = new Set(results.map((r) => r.item));
  // A class search lights up the whole class; its most typical items get
  // the rings.
  const lit = new Set(items);
  if (classes.length) {
    const want = new Set(classes);
    for (let i = 0; i < S.labels.length; i++) if (want.has(S.labels[i])) lit.add(i);
  }
  S.search = { q, method: ans.method || '', classes, results, items, lit: lit.size };
  if (scatter) scatter.setMatches(lit);
  renderSearch();
}

function clearSearch() {
  if (searchAbort) searchAbort.abort();
  searchAbort = null;
  clearTimeout(searchTimer);
  searchTimer = 0;
  S.search = null;
  if (scatter) scatter.setMatches(null);
  renderSearch();
}

function renderSearch() {
  searchSummary.classList.remove('panel-error');
  const sr = S.search;
  if (!sr) {
    searchSummary.textContent = '';
    ui.searchResults.replaceChildren();
    return;
  }
  const n = sr.results.length;
  const how = SEARCH_HOW[sr.method];
  let text = n === 0 ? `Nothing found for “${sr.q}”.` : `${n} found`;
  if (sr.classes.length) {
    const names = sr.classes.map((k) => S.classNames[k] ?? k).join(', ');
    text = `Class ${names} lit up (${sr.lit} items)`;
    if (n > 0) text += `; ${n} ${how ? how[0] : ''}:`;
  } else if (n > 0 && how) text += `, ${how[0]}`;
  searchSummary.textContent = text;
  searchSummary.title = n > 0 && how ? how[1] : '';
  ui.searchResults.replaceChildren(
    ...sr.results.map((r) => {
      const words = r.text || previews.words(r.item);
      const picture = previews.isImage() && previews.pixels ? previews.item(r.item, 28) : null;
      const li = el(
        'li',
        { class: `search-result match-${r.match || 'item'}` },
        el('span', { class: 'swatch', style: { background: colourOf(S.labels[r.item]) } }),
        picture,
        el('span', { class: 'search-words', text: words || `${labelName(r.item)} · item ${r.item}` }),
      );
      li.dataset.item = String(r.item);
      li.title = `${words ? `${words}\n` : ''}${labelName(r.item)} · item ${r.item}: click to select`;
      li.addEventListener('click', () => select(r.item, false));
      li.addEventListener('pointerenter', () => {
        S.hover = r.item;
        if (scatter) scatter.changed();
      });
      li.addEventListener('pointerleave', () => {
        if (S.hover === r.item) S.hover = -1;
        if (scatter) scatter.changed();
      });
      return li;
    }),
  );
}

/**
 * drawSearch draws the search results on the overlay, enlarged and ringed.
 * A class search has lit up its whole class already: only its few most
 * typical items get rings, which would otherwise pile up in its middle.
 */
function drawSearch(ctx, view) {
  const sr = S.search;
  if (!sr || sr.results.length === 0) return;
  const byClass = sr.method === 'labels';
  const shown = byClass ? sr.results.slice(0, 5) : sr.results;
  const r = view.pointSize() * (byClass ? 0.5 : 0.85) + 2;
  for (let k = shown.length - 1; k >= 0; k--) {
    const i = shown[k].item;
    if (!view.visible(i)) continue;
    const p = view.screenOf(i);
    if (!byClass) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
      ctx.fillStyle = colourOf(S.labels[i]);
      ctx.fill();
    }
    ctx.lineWidth = 4;
    ctx.strokeStyle = 'rgba(255,255,255,0.95)';
    ring(ctx, p.x, p.y, r + 2);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#111';
    ring(ctx, p.x, p.y, r + 2);
  }
}

// ---- the stream ----------------------------------------------------------

let helloSeen = false;

const stream = new RunStream(
  runID,
  {
    hello(msg) {
      if (!perf.hello) perf.hello = performance.now();
      const d = msg.dataset || {};
      S.run = msg.run || S.run;
      if (!helloSeen) {
        helloSeen = true;
        S.dataset = d;
        S.labels = Int32Array.from(d.labels || []);
        S.splits = d.splits || [];
        const maxLabel = S.labels.reduce((a, b) => Math.max(a, b), -1);
        S.classNames = d.class_names && d.class_names.length ? d.class_names : Array.from({ length: maxLabel + 1 }, (_, k) => String(k));
        if (scatter) scatter.setLabels(S.labels, Math.max(S.classNames.length, maxLabel + 1));
        buildLegend();
        previews = new Previews(d);
        applyDatasetFlags(d);
        if (d.pixels_url) {
          binary(d.pixels_url)
            .then((bytes) => {
              previews.setPixels(bytes);
              renderNeighbours();
            })
            .catch((err) => setConn(`no item pictures: ${err.message}`, 'warn'));
        }
      }
      if (S.run) {
        setProjection(S.run.projection);
        setState(S.run.state, S.run.queue_position);
      }
      S.isLive = false;
    },
    epoch(ev) {
      if (S.labels.length && ev.n !== S.labels.length) {
        setConn(`ignored a frame of ${ev.n} points for ${S.labels.length} items`, 'warn');
        return;
      }
      addEpoch(ev);
      if (!S.isLive) return; // history: shown once complete
      if (S.reprojecting && ev.frame && ev.frame.method === S.reprojecting.method && ev.frame.dims === S.reprojecting.dims && (!ev.backfill || ev.epoch === newest())) {
        S.reprojecting = null;
        setConn('live', 'ok');
      }
      if (!ev.backfill) {
        if (ev.received != null) {
          perf.arrivals.set(ev.epoch, { received: ev.received, sentMs: ev.sentMs });
          if (perf.arrivals.size > 8) perf.arrivals.delete(perf.arrivals.keys().next().value);
        }
        if (S.follow) show(ev.epoch, S.viewing == null ? 0 : GLIDE_MS);
        else updateTimeline();
        if (S.state === 'running') fetchPairs(false);
      } else if (ev.epoch === S.viewing) {
        show(ev.epoch, GLIDE_MS * 1.5); // e.g. re-projected: glide PCA → t-SNE
      } else {
        updateTimeline();
      }
      updateCharts();
    },
    live() {
      S.isLive = true;
      setConn('live', 'ok');
      const target = S.follow || S.viewing == null || !S.epochs.has(S.viewing) ? newest() : S.viewing;
      if (target != null) show(target, S.viewing == null ? 0 : GLIDE_MS);
      else updateTimeline();
      fetchPairs(true);
    },
    state(msg) {
      setState(msg.state, msg.queue_position);
      setConn(`run ${STATE_TEXT[msg.state] || msg.state}`, 'ok');
    },
    projection(msg) {
      S.run = { ...(S.run || {}), projection: { method: msg.method, dims: msg.dims } };
      setProjection(S.run.projection);
    },
    done(msg) {
      S.finished = true;
      if (!S.isLive) this.live(); // a finished run's history is complete
      setState(msg.state);
      const n = msg.epochs;
      if (S.precomputed) {
        setConn(msg.state === 'done' ? 'ready to explore' : `run ${STATE_TEXT[msg.state] || msg.state}`, msg.state === 'failed' ? 'error' : 'ok');
        updateTimeline();
        return;
      }
      fetchPairs(true);
      setConn(
        msg.state === 'done' ? `finished: ${n} epoch${n === 1 ? '' : 's'}` : `run ${STATE_TEXT[msg.state] || msg.state} after ${n} epoch${n === 1 ? '' : 's'}`,
        msg.state === 'failed' ? 'error' : 'ok',
      );
      updateTimeline();
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
    checkRun: async () => {
      try {
        await request('GET', `/api/runs/${encodeURIComponent(runID)}`);
        return true;
      } catch (err) {
        if (err.status === 404) return false;
        throw err;
      }
    },
  },
);

updateControls();
updateTimeline();
stream.start();
window.addEventListener('pagehide', () => stream.close());

// A small read-only handle for debugging in the console and for the
// end-to-end test: where a point is on screen, and a snapshot of the map.
window.explorer = Object.freeze({
  runID,
  epoch: () => S.viewing,
  newest,
  state: () => S.state,
  live: () => S.isLive,
  points: () => S.labels.length,
  screenOf: (i) => {
    const p = scatter ? scatter.screenOf(i) : { x: NaN, y: NaN };
    const r = ui.scatter.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  },
  snapshot: () => (scatter ? scatter.snapshot() : ''),
  settled: () => !scatter || !scatter.animating(),
  // Frame timings in performance.now() milliseconds: each live epoch's
  // arrival and first draw (and, from the server's sent_ms, sentMs and
  // sinceSent, the milliseconds from send to draw), the first hello's
  // arrival; the wall-clock time of the first drawn frame.
  timings: () => ({
    frames: perf.frames.map((f) => ({ ...f })),
    firstDrawnWall: perf.firstDrawnWall,
    hello: perf.hello,
    renders: scatter ? scatter.renders : 0,
  }),
  search: () => (S.search ? { q: S.search.q, method: S.search.method, items: [...S.search.items] } : null),
});
