// The timeline: which epoch the map shows, following the run live or
// looking back with the slider, the arrow keys or a replay.

import { el } from './dom.js';
import { config } from './state.js';
import { coordsOf, newest } from './history.js';

/** GLIDE_MS is how long the map takes to move by one live epoch. */
export const GLIDE_MS = 450;
const SCRUB_MS = 250; // moving the timeline by hand
const REPLAY_STEP_MS = 700; // one epoch of replay

/**
 * createTimeline wires the slider, Replay and Live buttons and returns
 * {show, update, goLive, stepView}. show(epoch, ms) puts an epoch on the map,
 * gliding there over ms milliseconds, then calls shown(entry) with the
 * epoch's entry in S.epochs; update redraws the timeline alone.
 * @param {import('./state.js').App} app
 * @param {{shown: (entry: object) => void}} deps
 */
export function createTimeline(app, { shown }) {
  const { ui, S, root } = app;
  const label = el('span', { class: 'timeline-mode', 'data-testid': 'timeline-mode' });
  ui.timeline.append(label);
  if (!ui.play.textContent) ui.play.textContent = '▶ Replay';
  if (!ui.live.textContent) ui.live.textContent = 'Live';

  function show(epoch, ms) {
    const e = S.epochs.get(epoch);
    if (!e) return;
    S.viewing = epoch;
    const c = coordsOf(S, epoch);
    const scatter = app.scatter;
    if (scatter && c && S.labels.length === c.coords.length / c.dims) {
      scatter.setFrame(c.coords, c.dims, ms);
      app.map.setHint();
      app.timings.shown(epoch, scatter.frameSeq);
    }
    update();
    shown(e);
  }

  function update() {
    const max = Math.max(0, S.order.length - 1);
    ui.slider.min = '0';
    ui.slider.max = String(max);
    ui.slider.disabled = S.order.length < 2;
    const idx = S.order.indexOf(S.viewing);
    if (idx >= 0) ui.slider.value = String(idx);
    const E = Number(root.dataset.epochs) || (S.run && (S.run.epochs || config(S).epochs)) || '?';
    const v = S.viewing;
    const latest = newest(S);
    let text = v == null ? `epoch – / ${E}` : `epoch ${v} / ${E}`;
    if (v != null && !S.follow && latest !== v) text += ` (newest ${latest})`;
    ui.counter.textContent = text;
    ui.slider.setAttribute('aria-valuetext', text);
    ui.live.setAttribute('aria-pressed', String(S.follow));
    ui.live.classList.toggle('following', S.follow);
    ui.play.textContent = S.playing ? '❚❚ Pause replay' : '▶ Replay';
    ui.play.disabled = S.order.length < 2;
    label.textContent = S.follow ? (S.finished ? 'last epoch' : 'following live') : 'looking back';
  }

  function goLive() {
    stopReplay();
    S.follow = true;
    const e = newest(S);
    if (e != null && e !== S.viewing) show(e, GLIDE_MS);
    else update();
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
    update();
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
    update();
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

  return { show, update, goLive, stepView };
}
