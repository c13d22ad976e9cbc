// The timeline: which epoch the map shows, following the run live or
// looking back with the slider, the arrow keys or a replay. Live epochs and
// replays play at the chosen speed (epochs per second): a run faster than
// that is queued and played epoch by epoch, never skipped, unless the speed
// is "as they come".

import { el } from './dom.js';
import { config } from './state.js';
import { coordsOf, newest } from './history.js';

/** GLIDE_MS is how long the map takes to move by one live epoch. */
export const GLIDE_MS = 450;
const SCRUB_MS = 250; // moving the timeline by hand

// SPEEDS are the playback speeds offered, in epochs per second; 0 shows
// each live epoch as it comes (a fast run skips epochs on screen).
export const SPEEDS = [0.5, 1, 2, 4, 8, 0];
const DEFAULT_SPEED = 2;
const SPEED_KEY = 'explorer.speed';

function storedSpeed() {
  const q = new URLSearchParams(location.search).get('speed');
  let v = q;
  if (v == null) {
    try {
      v = localStorage.getItem(SPEED_KEY);
    } catch {
      v = null;
    }
  }
  if (v === 'max') return 0;
  const n = Number(v);
  return v != null && SPEEDS.includes(n) ? n : DEFAULT_SPEED;
}

/**
 * createTimeline wires the slider, Replay and Live buttons and returns
 * {show, update, goLive, stepView, liveArrived}. show(epoch, ms) puts an
 * epoch on the map, gliding there over ms milliseconds, then calls
 * shown(entry) with the epoch's entry in S.epochs; update redraws the
 * timeline alone; liveArrived plays a new live epoch at the chosen speed.
 * @param {import('./state.js').App} app
 * missing(epoch) is called when the player has waited a while for an
 * epoch the stream did not deliver.
 * @param {{shown: (entry: object) => void, missing?: (epoch: number) => void}} deps
 */
export function createTimeline(app, { shown, missing = () => {} }) {
  const { ui, S, root } = app;
  const label = el('span', { class: 'timeline-mode', 'data-testid': 'timeline-mode' });
  S.speed = storedSpeed();
  const speed = el('select', { 'data-testid': 'timeline-speed', 'aria-label': 'Playback speed' });
  for (const v of SPEEDS) {
    speed.append(el('option', { value: String(v), text: v === 0 ? 'as they come' : `${v} epoch${v === 1 ? '' : 's'}/s` }));
  }
  speed.value = String(S.speed);
  speed.addEventListener('change', () => {
    S.speed = Number(speed.value);
    try {
      localStorage.setItem(SPEED_KEY, S.speed === 0 ? 'max' : String(S.speed));
    } catch {
      // The choice lasts for this page only.
    }
    if (S.playing) {
      stopReplay();
      startReplay();
    } else if (S.follow) {
      stopPace();
      liveArrived();
    }
  });
  speed.title = 'Playback speed of the live run and of Replay';
  ui.timeline.append(el('label', { class: 'timeline-speed' }, speed), label);
  let pace = 0; // the timer of the next queued live epoch
  if (!ui.play.textContent) ui.play.textContent = '▶ Replay';
  if (!ui.live.textContent) ui.live.textContent = 'Live';

  function show(epoch, ms) {
    const e = S.epochs.get(epoch);
    if (!e) return;
    S.viewing = epoch;
    // The epochs put on the map, in order (the test's proof that none is
    // skipped), the last thousand.
    if (S.shownLog.length >= 1000) S.shownLog.shift();
    S.shownLog.push(epoch);
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
    const behind = v == null ? 0 : S.order.length - 1 - S.order.indexOf(v);
    ui.counter.textContent = text;
    ui.slider.setAttribute('aria-valuetext', text);
    ui.live.setAttribute('aria-pressed', String(S.follow));
    ui.live.classList.toggle('following', S.follow);
    ui.play.textContent = S.playing ? '❚❚ Pause replay' : '▶ Replay';
    ui.play.disabled = S.order.length < 2;
    if (S.follow && behind > 0) label.textContent = `playing the run, ${behind} epoch${behind === 1 ? '' : 's'} to go`;
    else label.textContent = S.follow ? (S.finished ? 'last epoch' : 'following live') : 'looking back';
  }

  /** stepMs is how long one epoch shows at the chosen speed. */
  function stepMs() {
    return 1000 / (S.speed || 8);
  }

  /**
   * liveArrived shows a new live epoch when the map follows the run: at
   * once at "as they come", else the next queued one, one per step.
   */
  function liveArrived() {
    if (!S.follow) {
      update();
      return;
    }
    const latest = newest(S);
    if (latest == null) return;
    if (S.viewing == null || !S.epochs.has(S.viewing)) {
      show(latest, 0);
      return;
    }
    if (S.speed === 0) {
      if (latest !== S.viewing) show(latest, GLIDE_MS);
      return;
    }
    if (!pace) advance();
  }

  // A run faster than its projections has some epochs projected after the
  // next ones (backfill): the player waits a little for the epoch that
  // comes next before passing over it.
  const WAIT_MS = 4000;
  const REFILL_MS = 600;
  let waitingSince = 0;
  let refilled = false;

  function advance() {
    pace = 0;
    if (!S.follow || S.playing) return;
    const next = S.order[S.order.indexOf(S.viewing) + 1];
    if (next == null) {
      update();
      return;
    }
    if (next !== S.viewing + 1 && !S.epochs.has(S.viewing + 1)) {
      const now = performance.now();
      if (!waitingSince) waitingSince = now;
      // A frame a slow connection skipped is not sent again by itself:
      // after a moment, ask for it.
      if (now - waitingSince > REFILL_MS && !refilled) {
        refilled = true;
        missing(S.viewing + 1);
      }
      if (now - waitingSince < WAIT_MS) {
        pace = setTimeout(advance, 100);
        return;
      }
    }
    refilled = false;
    waitingSince = 0;
    const ms = stepMs();
    show(next, Math.min(GLIDE_MS, ms * 0.85));
    pace = setTimeout(advance, ms);
  }

  function stopPace() {
    clearTimeout(pace);
    pace = 0;
  }

  function goLive() {
    stopReplay();
    stopPace();
    S.follow = true;
    const e = newest(S);
    if (e != null && e !== S.viewing) show(e, GLIDE_MS);
    else update();
  }

  function goTo(index, ms) {
    if (S.order.length === 0) return;
    const i = Math.max(0, Math.min(S.order.length - 1, index));
    S.follow = false;
    stopPace();
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
    const ms = stepMs();
    S.playing = setInterval(() => {
      const j = S.order.indexOf(S.viewing) + 1;
      if (j >= S.order.length) {
        stopReplay();
        return;
      }
      goTo(j, ms * 0.85);
    }, ms);
    update();
  }

  ui.slider.addEventListener('input', () => {
    // Read before stopReplay, whose redraw puts the slider back.
    const i = Number(ui.slider.value);
    stopReplay();
    // Dragging to the end means "now": follow the run again.
    if (i >= S.order.length - 1 && !S.finished) goLive();
    else goTo(i, SCRUB_MS);
  });
  ui.play.addEventListener('click', () => (S.playing ? stopReplay() : startReplay()));
  ui.live.addEventListener('click', goLive);

  return { show, update, goLive, stepView, liveArrived };
}
