// The map: the WebGL scatter, the 2D overlay canvas stacked on it, the hint
// and the Trails and Reset view buttons.

import { Scatter } from '../scatter.js';
import { el } from './dom.js';

/**
 * createMap puts the scatter canvas (ui.scatter) into a stack with the
 * overlay canvas, the hint and the tools. It returns {stack, overlay,
 * setHint, start}; start(cb) makes app.scatter with the Scatter callbacks
 * cb or, when the browser cannot draw WebGL2, leaves it null and says why.
 * @param {import('./state.js').App} app
 */
export function createMap(app) {
  const { ui, S } = app;
  const stack = el('div', { class: 'scatter-stack' });
  ui.scatter.replaceWith(stack);
  const overlay = el('canvas', { class: 'scatter-overlay' });
  overlay.setAttribute('aria-hidden', 'true');
  const trails = el('button', { type: 'button', text: 'Trails', 'data-testid': 'toggle-trails', title: "Show each selected point's path over the last epochs" });
  trails.setAttribute('aria-pressed', 'false');
  const reset = el('button', { type: 'button', text: 'Reset view', 'data-testid': 'reset-view', title: 'Back to the whole map (double-click does it too)' });
  const hint = el('span', { class: 'scatter-hint', 'data-testid': 'scatter-hint' });
  const tools = el('div', { class: 'scatter-tools' }, trails, reset);
  stack.append(ui.scatter, overlay, hint, tools);

  trails.addEventListener('click', () => {
    S.trails = !S.trails;
    trails.setAttribute('aria-pressed', String(S.trails));
    if (app.scatter) app.scatter.changed();
  });
  reset.addEventListener('click', () => app.scatter && app.scatter.resetView());

  function setHint() {
    const three = app.scatter && app.scatter.dims === 3;
    hint.textContent = three
      ? 'drag to turn · shift-drag to pan · wheel to zoom · click a point'
      : 'drag to pan · wheel to zoom · click a point';
  }

  function start(cb) {
    try {
      app.scatter = new Scatter(ui.scatter, overlay, cb);
    } catch (err) {
      stack.classList.add('no-webgl');
      stack.append(el('p', { class: 'scatter-error', text: `Cannot draw the map: ${err.message}. Charts and panels still work.` }));
    }
    setHint();
  }

  return { stack, overlay, setHint, start };
}
