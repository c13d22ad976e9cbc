// The run page's server-rendered elements, found by data-testid
// (docs/protocol.md, "Page contract"), with a stand-in for any that is
// missing; and the run they are about.

import { loadToken } from '../api.js';
import { $, need } from './dom.js';

/**
 * findPage returns the page's root element, the run's id and control token
 * ('' for a watcher) and ui, the elements by role.
 */
export function findPage() {
  const root = $('explorer') || document.querySelector('main') || document.body;
  const runID = root.dataset.runId || decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
  const token = loadToken(runID);
  const here = (id, tag) => need(id, tag, root);
  const ui = {
    state: here('run-state', 'span'),
    queue: here('queue-position', 'span'),
    conn: here('connection-status', 'span'),
    counter: here('epoch-counter', 'span'),
    scatter: here('scatter', 'canvas'),
    tooltip: here('tooltip', 'div'),
    legend: here('legend', 'ul'),
    controls: here('controls', 'div'),
    pause: here('control-pause', 'button'),
    resume: here('control-resume', 'button'),
    step: here('control-step', 'button'),
    stop: here('control-stop', 'button'),
    method: here('projection-method', 'select'),
    dims: here('projection-dims', 'select'),
    tokenMissing: here('token-missing', 'p'),
    timeline: here('timeline', 'div'),
    quality: here('frame-quality', 'dl'),
    charts: here('charts', 'section'),
    collapse: here('collapse-alert', 'p'),
    pairs: here('pair-panel', 'section'),
    neighbours: here('neighbors-panel', 'section'),
    error: here('error-banner', 'p'),
    title: here('run-title', 'h1'),
  };
  ui.slider = need('timeline-slider', 'input', ui.timeline);
  ui.play = need('timeline-play', 'button', ui.timeline);
  ui.live = need('timeline-live', 'button', ui.timeline);
  ui.slider.type = 'range';
  ui.tooltip.setAttribute('role', 'tooltip');
  return { root, runID, token, ui };
}
