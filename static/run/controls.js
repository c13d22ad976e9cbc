// The run's state and its controls: pause, resume, step, stop and the
// projection. The owner's projection is everyone's; a watcher's is their
// page's alone (computed for it on the server), unless they follow a
// presenter, who then decides. Watchers see the training controls disabled.

import { request } from '../api.js';
import { el } from './dom.js';
import { methodName } from './state.js';

/** STATE_TEXT says each run state in words. */
export const STATE_TEXT = {
  queued: 'queued',
  running: 'training',
  paused: 'paused',
  done: 'finished',
  stopped: 'stopped',
  failed: 'failed',
};

/**
 * createControls wires the control buttons and projection selects and
 * returns {setState, updateControls, control, setProjection, setLocked,
 * viewRefused}: setState(state, queuePosition) shows a run state,
 * control(action) sends "pause", "resume", "step" or "stop",
 * setProjection({method, dims}) shows a projection in the selects,
 * setLocked(on) makes a watcher's page show the run's projection while it
 * follows a presenter, viewRefused(reason) says why the server could not
 * compute the watcher's own.
 * @param {import('./state.js').App} app
 * @param {ReturnType<typeof import('./status.js').createStatus>} status
 */
export function createControls(app, { setConn, showError, clearError }) {
  const { ui, S, root, runID, token } = app;

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
    if (app.scatter) app.scatter.changed(); // the empty-map message mentions the state
  }

  function updateControls() {
    const owner = token !== '';
    ui.tokenMissing.hidden = owner;
    if (owner) ui.tokenMissing.textContent = '';
    else if (!ui.tokenMissing.textContent) ui.tokenMissing.textContent = "watching: only the run's owner can control training; the projection you choose is for your page alone";
    const s = S.state;
    const over = S.finished || s === 'done' || s === 'stopped' || s === 'failed' || s === 'interrupted';
    ui.pause.disabled = !owner || s !== 'running';
    // An interrupted run (its server stopped or crashed) resumes from its
    // last checkpoint.
    ui.resume.disabled = !owner || (s !== 'paused' && !(s === 'interrupted' && S.run && S.run.resumable));
    ui.step.disabled = !owner || s !== 'paused';
    ui.stop.disabled = !owner || over;
    const locked = !owner && S.viewLocked;
    for (const sel of [ui.method, ui.dims]) {
      sel.disabled = s === 'failed' || locked;
      sel.title = owner
        ? 'Changes the projection for everyone watching this run'
        : locked
          ? "Following the presenter: the map shows the presenter's projection"
          : 'Your page alone: the server projects the run for you';
    }
    ui.controls.classList.toggle('watching', !owner);
  }

  const projName = (v) => `${methodName(v.method)} in ${v.dims}D`;
  const sameView = (a, b) => !!a && !!b && a.method === b.method && Number(a.dims) === Number(b.dims);

  // A watcher's choice: their own view, or the run's own when it is that.
  function chooseView() {
    const v = { method: ui.method.value, dims: Number(ui.dims.value) };
    S.ownView = sameView(v, S.run && S.run.projection) ? null : v;
    applyView();
  }

  // applyView connects the stream for the projection the page should show.
  function applyView() {
    const want = S.viewLocked ? null : S.ownView;
    if (sameView(want, S.streamView) || (!want && !S.streamView)) return;
    S.streamView = want;
    const shown = want || (S.run && S.run.projection);
    if (shown) {
      S.reprojecting = { method: shown.method, dims: Number(shown.dims) };
      setConn(want ? `projecting the run for your page: ${projName(want)}…` : `back to the run's projection: ${projName(shown)}…`, 'warn');
    }
    app.setView(want);
  }

  function setLocked(on) {
    if (S.viewLocked === on) return;
    S.viewLocked = on;
    updateControls();
    applyView();
  }

  function viewRefused(reason) {
    const asked = S.ownView;
    S.ownView = null;
    S.streamView = null;
    S.reprojecting = null;
    showError(`Your own projection${asked ? ` (${projName(asked)})` : ''} is not available: ${reason}. The map shows the run's projection.`);
    if (S.run) setProjection(S.run.projection);
  }

  async function control(action) {
    const wasInterrupted = S.state === 'interrupted';
    try {
      const summary = await request('POST', `/api/runs/${encodeURIComponent(runID)}/${action}`, { token });
      clearError();
      if (summary) applySummary(summary);
      // The stream of an interrupted run has ended: a new one follows the
      // resumed training.
      if (wasInterrupted && action === 'resume') app.reopen();
    } catch (err) {
      showError(err.message);
    }
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
      setConn(`re-projecting every epoch with ${methodName(body.method)} in ${body.dims}D…`, 'warn');
      // A finished run's stream has ended: the new frames come on a new one.
      app.reopen();
    } catch (err) {
      showError(err.message);
      setProjection(S.run && S.run.projection);
    }
  }

  function setProjection(p) {
    if (!p) return;
    // The caveat on reading t-SNE and UMAP goes with their pictures.
    const caveat = app.root.querySelector('[data-testid="tsne-caveat"]');
    if (caveat && p.method) caveat.hidden = p.method === 'pca';
    if (p.method) ensureOption(ui.method, p.method, methodName(p.method));
    if (p.dims) ensureOption(ui.dims, String(p.dims), `${p.dims}D`);
  }

  function applySummary(summary) {
    S.run = { ...(S.run || {}), ...summary };
    if (summary.projection) setProjection(summary.projection);
    setState(summary.state, summary.queue_position);
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
  const projectionChanged = () => (token !== '' ? changeProjection() : chooseView());
  ui.method.addEventListener('change', projectionChanged);
  ui.dims.addEventListener('change', projectionChanged);

  return { setState, updateControls, control, setProjection, setLocked, viewRefused };
}

function ordinal(k) {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = k % 100;
  return k + (s[(v - 20) % 10] || s[v] || s[0]);
}

function ensureOption(select, value, label) {
  if (![...select.options].some((o) => o.value === value)) select.append(el('option', { value, text: label }));
  select.value = value;
}
