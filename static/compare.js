// The comparison page (/compare/A/B): two runs on the same dataset side by
// side, on one timeline. Each map reads its run's websocket in the
// projection chosen here; the second run's projection is started on the
// server from the first's layout (?init=A), and each of its frames is
// turned onto the first's frame of the same epoch (orthogonal Procrustes),
// so the same class sits in the same place in both. Hovering or clicking a
// point, or a class in the legend, marks it in both maps. The metric
// curves of both runs share their axes, and a table gives each run's
// newest figures. Works while either run trains: the timeline grows as
// epochs arrive and follows the newest while it is at its end.

import { runExists } from './api.js';
import { RunStream } from './stream.js';
import { Scatter } from './scatter.js';
import { LineChart } from './charts.js';
import { labelName, legendItems } from './run/dataset.js';
import { alignOnto } from './procrustes.js';

const root = document.querySelector('[data-testid="compare"]');
const $ = (id) => root.querySelector(`[data-testid="${id}"]`);
const KEYS = ['a', 'b'];
const RUN_COLOURS = ['#0072B2', '#D55E00'];
const PLAY_MS = 450;

const S = {
  ids: [root.dataset.a, root.dataset.b],
  view: { method: root.dataset.method || 'pca', dims: Number(root.dataset.dims) || 2 },
  labels: null,
  classNames: [],
  texts: null,
  epoch: 0,
  follow: true, // the timeline keeps to the newest epoch
  hover: -1,
  selected: -1,
  cls: null, // the class picked in the legend
  playing: 0,
  aligned: new Map(), // "seqB/seqA" -> the second run's frame turned onto the first's
  seq: 0, // numbers every frame received, for the caches
  waitingForFirst: true, // the second stream starts once the first run has a frame in the view
  problems: [],
};

const panels = KEYS.map((key, k) => ({
  key,
  k,
  id: S.ids[k],
  epochs: new Map(), // epoch -> {coords, dims, n, metrics, frame}
  run: null,
  shown: '', // what the map holds: "epoch/alignment"
  shownEpoch: -1,
  scatter: null,
  stream: null,
  ui: {
    canvas: $(`scatter-${key}`),
    overlay: $(`overlay-${key}`),
    epoch: $(`panel-${key}-epoch`),
    state: $(`panel-${key}-state`),
  },
}));

const ui = {
  timeline: $('compare-timeline'),
  epoch: $('compare-epoch'),
  play: $('compare-play'),
  hover: $('compare-hover'),
  legend: $('compare-legend'),
  error: $('compare-error'),
  projection: $('compare-projection'),
};

function problem(text) {
  S.problems.push(text);
  ui.error.hidden = false;
  ui.error.textContent = text;
}

// ---- maps ------------------------------------------------------------

for (const p of panels) {
  try {
    p.scatter = new Scatter(p.ui.canvas, p.ui.overlay, {
      hover: (i) => setHover(i),
      click: (i) => setSelected(i === S.selected ? -1 : i),
      overlay: (ctx, view) => drawMarks(ctx, view),
    });
  } catch (err) {
    problem(`cannot draw the maps: ${err.message}`);
  }
}

/** drawMarks rings the hovered and the selected point in a map. */
function drawMarks(ctx, view) {
  const mark = (i, colour, r) => {
    if (i < 0 || i >= view.n || !view.everDrawn) return;
    const p = view.screenOf(i);
    ctx.save();
    ctx.lineWidth = 5;
    ctx.strokeStyle = '#fff';
    ctx.beginPath();
    ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = colour;
    ctx.beginPath();
    ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.restore();
  };
  mark(S.selected, '#000', view.pointSize() / 2 + 10);
  mark(S.hover, '#111', view.pointSize() / 2 + 6);
}

function redrawMarks() {
  for (const p of panels) if (p.scatter) p.scatter.changed();
}

function describe(i) {
  if (i < 0 || !S.labels) return '';
  const text = S.texts && S.texts[i] ? ` · ${S.texts[i]}` : '';
  return `item ${i} · ${labelName(S, i)}${text}`;
}

function setHover(i) {
  if (i === S.hover) return;
  S.hover = i;
  root.dataset.hover = String(i);
  ui.hover.textContent = i >= 0 ? `${describe(i)}: ringed in both maps` : S.selected >= 0 ? `selected: ${describe(S.selected)}` : 'Hover a point to see it in both maps.';
  redrawMarks();
}

function setSelected(i) {
  S.selected = i;
  root.dataset.selected = String(i);
  if (i >= 0) ui.hover.textContent = `selected: ${describe(i)}`;
  redrawMarks();
}

function setClass(c) {
  S.cls = S.cls === c ? null : c;
  const items = [];
  if (S.cls !== null) S.labels.forEach((l, i) => l === S.cls && items.push(i));
  for (const p of panels) if (p.scatter) p.scatter.setMatches(S.cls === null ? null : items);
  for (const b of ui.legend.querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.label) === S.cls));
}

function buildLegend() {
  const items = legendItems(S, 'Pick out this class in both maps', (k) => setClass(k));
  for (const li of items) li.querySelector('button')?.setAttribute('aria-pressed', 'false');
  ui.legend.replaceChildren(...items);
}

// ---- frames and the timeline -------------------------------------------

/** frameAt returns a panel's newest frame at or before epoch e (else its first). */
function frameAt(p, e) {
  let best = null;
  let first = null;
  for (const [k, f] of p.epochs) {
    if (k <= e && (!best || k > best.epoch)) best = { epoch: k, ...f };
    if (!first || k < first.epoch) first = { epoch: k, ...f };
  }
  return best || first;
}

function newestEpoch() {
  let m = 0;
  for (const p of panels) for (const e of p.epochs.keys()) m = Math.max(m, e);
  return m;
}

function render() {
  const [pa, pb] = panels;
  const fa = frameAt(pa, S.epoch);
  const fb = frameAt(pb, S.epoch);
  show(pa, fa, fa ? fa.coords : null, fa ? `${fa.seq}` : '');
  let coords = fb ? fb.coords : null;
  let key = fb ? `${fb.seq}` : '';
  if (fa && fb && fa.dims === fb.dims && fa.n === fb.n) {
    key = `${fb.seq}/${fa.seq}`;
    if (!S.aligned.has(key)) S.aligned.set(key, alignOnto(fa.coords, fb.coords, fb.n, fb.dims));
    coords = S.aligned.get(key);
  }
  show(pb, fb, coords, key);
  ui.epoch.textContent = `epoch ${S.epoch}`;
  root.dataset.epoch = String(S.epoch);
  updateCharts();
}

function show(p, f, coords, key) {
  const total = p.run ? p.run.epochs : 0;
  p.ui.epoch.textContent = f ? `epoch ${f.epoch} / ${total}` : `epoch – / ${total}`;
  if (!f || !p.scatter || !S.labels || f.n !== S.labels.length) return;
  if (p.shown === key) return;
  p.shown = key;
  p.shownEpoch = f.epoch;
  p.scatter.setFrame(coords, f.dims, S.playing ? PLAY_MS * 0.8 : 350);
}

function updateTimeline() {
  const top = newestEpoch();
  ui.timeline.max = String(top);
  if (S.follow) S.epoch = top;
  ui.timeline.value = String(S.epoch);
}

ui.timeline.addEventListener('input', () => {
  S.epoch = Number(ui.timeline.value);
  S.follow = S.epoch >= newestEpoch();
  stopPlaying();
  render();
});

function stopPlaying() {
  if (!S.playing) return;
  clearInterval(S.playing);
  S.playing = 0;
  ui.play.textContent = 'Play';
}

ui.play.addEventListener('click', () => {
  if (S.playing) {
    stopPlaying();
    return;
  }
  if (S.epoch >= newestEpoch()) S.epoch = 0;
  S.follow = false;
  ui.play.textContent = 'Pause';
  S.playing = setInterval(() => {
    if (S.epoch >= newestEpoch()) {
      stopPlaying();
      S.follow = true;
      return;
    }
    S.epoch++;
    ui.timeline.value = String(S.epoch);
    render();
  }, PLAY_MS);
  render();
});

// ---- curves and figures ------------------------------------------------

const metric = (name) => (m) => (m && Number.isFinite(m[name]) ? m[name] : undefined);
const chartSpecs = [
  ['chart-loss', 'loss'],
  ['chart-knn', 'knn_accuracy', [0, 1]],
  ['chart-alignment', 'alignment'],
  ['chart-uniformity', 'uniformity'],
];

function runName(k) {
  const link = $(`panel-${KEYS[k]}-link`);
  return link ? link.textContent : KEYS[k];
}

const charts = chartSpecs.map(([id, field, fixed]) => {
  const get = metric(field);
  const series = panels.map((p) => ({ name: runName(p.k), colour: RUN_COLOURS[p.k], dash: p.k === 1, get: (m) => get(m[p.key]) }));
  return new LineChart($(id), series, fixed ? { fixed } : {});
});

function updateCharts() {
  const epochs = new Set();
  for (const p of panels) for (const e of p.epochs.keys()) epochs.add(e);
  const data = [...epochs]
    .sort((x, y) => x - y)
    .map((e) => {
      const m = {};
      for (const p of panels) {
        const f = p.epochs.get(e);
        if (f && f.metrics) m[p.key] = f.metrics;
      }
      return { epoch: e, metrics: m };
    });
  for (const c of charts) c.set(data, S.epoch);
}

const fmt = (v, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

function updateTable() {
  for (const p of panels) {
    let top = -1;
    for (const e of p.epochs.keys()) top = Math.max(top, e);
    const f = top >= 0 ? p.epochs.get(top) : null;
    const m = (f && f.metrics) || {};
    const q = (f && f.frame) || {};
    const set = (key, text) => {
      const td = $(`figure-${key}-${p.key}`);
      if (td) td.textContent = text;
    };
    set('knn', m.has_knn ? fmt(m.knn_accuracy) : '–');
    set('alignment', fmt(m.alignment));
    set('uniformity', fmt(m.uniformity));
    set('rank', fmt(m.effective_rank, 1));
    set('trust', q.trustworthiness > 0 ? fmt(q.trustworthiness) : '–');
    set('loss', fmt(m.loss));
    const head = $(`table-head-${p.key}`);
    if (head) head.title = top >= 0 ? `epoch ${top}${p.run && p.run.state !== 'done' ? ` (${p.run.state})` : ''}` : 'no epoch yet';
  }
}

// ---- streams -----------------------------------------------------------

function setState(p, text) {
  p.ui.state.textContent = text;
}

// The second run's view is started from the first's layout on the server
// (?init=), so it opens once the first run has a frame in the view: were
// it first, it would start from its own layout.
function startSecond() {
  S.waitingForFirst = false;
  const p = panels[1];
  p.stream.view = { ...S.view };
  p.stream.full = true;
  p.stream.finished = false;
  p.stream.start();
}

function connect(p) {
  p.stream = new RunStream(
    p.id,
    {
      hello(msg) {
        p.run = msg.run || p.run;
        if (!S.labels) {
          const d = msg.dataset || {};
          S.labels = Int32Array.from(d.labels || []);
          const maxLabel = S.labels.reduce((x, y) => Math.max(x, y), -1);
          S.classNames = d.class_names && d.class_names.length ? d.class_names : Array.from({ length: maxLabel + 1 }, (_, k) => String(k));
          S.texts = d.texts || d.names || null;
          for (const q of panels) if (q.scatter) q.scatter.setLabels(S.labels, Math.max(S.classNames.length, maxLabel + 1));
          buildLegend();
        }
        if (p.run) setState(p, p.run.state);
        render();
      },
      epoch(ev) {
        if (S.labels && ev.n !== S.labels.length) return;
        p.epochs.set(ev.epoch, { coords: ev.coords, dims: ev.dims, n: ev.n, metrics: ev.metrics, frame: ev.frame, seq: ++S.seq });
        if (p.k === 0 && S.waitingForFirst) startSecond();
        updateTimeline();
        updateTable();
        render();
      },
      state(msg) {
        if (p.run) p.run.state = msg.state;
        setState(p, msg.state);
        updateTable();
      },
      done() {
        if (p.run) setState(p, p.run.state);
      },
      error(msg) {
        problem(`${runName(p.k)}: ${msg.error}`);
      },
      status(text, kind) {
        if (kind === 'error') problem(`${runName(p.k)}: ${text}`);
        p.ui.state.title = text;
      },
      gone() {
        problem(`run ${p.id} no longer exists`);
      },
      viewRefused(reason) {
        problem(`${runName(p.k)}: the server cannot project it in ${S.view.method.toUpperCase()} ${S.view.dims}D now (${reason}); showing its own projection`);
      },
    },
    { viewQuery: p.k === 1 ? `init=${encodeURIComponent(S.ids[0])}` : '', checkRun: () => runExists(p.id) },
  );
  p.stream.view = { ...S.view };
  if (p.k === 0) p.stream.start();
  else setState(p, 'waiting for the first run’s first frame');
}

ui.projection.value = `${S.view.method}/${S.view.dims}`;
ui.projection.addEventListener('change', () => {
  const [method, dims] = ui.projection.value.split('/');
  S.view = { method, dims: Number(dims) };
  S.aligned.clear();
  for (const p of panels) {
    p.epochs.clear();
    p.shown = '';
  }
  // The second waits again for the first's first frame in the new view.
  panels[1].stream.close();
  S.waitingForFirst = true;
  panels[0].stream.setView(S.view);
  render();
});

for (const p of panels) connect(p);
window.addEventListener('pagehide', () => {
  for (const p of panels) p.stream.close();
});

// A read-only handle for the end-to-end test and the console: where a
// point is on screen in each map, what is marked, what each map shows.
window.compare = Object.freeze({
  ids: () => [...S.ids],
  epoch: () => S.epoch,
  newest: () => newestEpoch(),
  has: (k, e) => panels[k].epochs.has(e),
  shownEpochs: () => panels.map((p) => p.shownEpoch),
  hover: () => S.hover,
  selected: () => S.selected,
  cls: () => S.cls,
  points: () => (S.labels ? S.labels.length : 0),
  screenOf: (k, i) => {
    const sc = panels[k].scatter;
    const p = sc ? sc.screenOf(i) : { x: NaN, y: NaN };
    const r = panels[k].ui.canvas.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  },
  // The two maps' points where they sit now: the RMS distance between
  // each point in the first map and its twin in the second, relative to
  // the first's RMS radius (small when the maps are aligned).
  gap: () => {
    const [a, b] = panels.map((p) => p.scatter);
    if (!a || !b || !a.everDrawn || !b.everDrawn) return NaN;
    let d = 0;
    let r = 0;
    for (let i = 0; i < a.n; i++) {
      const pa = a.position(i);
      const pb = b.position(i);
      for (let j = 0; j < 3; j++) {
        d += (pa[j] - pb[j]) ** 2;
        r += pa[j] ** 2;
      }
    }
    return Math.sqrt(d / r);
  },
  settled: () => panels.every((p) => !p.scatter || !p.scatter.animating()),
  problems: () => [...S.problems],
});
