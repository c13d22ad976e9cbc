// "Copy link to this setup" on the run page: the start page's link with
// this run's settings (see ../preset.js), to train it again or hand it out.

import { request } from '../api.js';
import { offerLink, presetURL } from '../preset.js';

// The settings of the start page's form, by name; a run's summary holds
// more (the augmentations' details), which the form does not take.
const FORM_SETTINGS = [
  'dataset', 'loss', 'pairs', 'epochs', 'batch', 'lr', 'optimizer', 'momentum', 'weight_decay', 'schedule',
  'warmup', 'dim', 'hidden', 'embed', 'seed', 'margin', 'temperature', 'mining', 'augment',
];

/**
 * setupOf returns the start page's settings of a run summary: its config
 * where the form has the field ("the loss's default" left out), and its
 * projection.
 */
export function setupOf(run) {
  const cfg = {};
  const c = (run && run.config) || {};
  for (const name of FORM_SETTINGS) {
    const v = c[name];
    if (v === undefined || v === null || v === '') continue;
    // 0 is "the loss's default" for these; the form says so by leaving
    // them empty.
    if ((name === 'margin' || name === 'temperature') && v === 0) continue;
    cfg[name] = v;
  }
  if (run && run.projection) {
    cfg.projection = run.projection.method;
    cfg.dims = run.projection.dims;
  }
  return cfg;
}

/**
 * createSetupLink wires the page's copy-link button.
 * @param {import('./state.js').App} app
 */
export function createSetupLink(app) {
  const button = app.root.querySelector('[data-testid="copy-link"]');
  const out = app.root.querySelector('[data-testid="setup-link"]');
  if (!button || !out) return;
  button.addEventListener('click', async () => {
    // Before the stream's hello the page knows the run only by its id.
    let run = app.S.run;
    if (!run || !run.config) {
      try {
        run = await request('GET', `/api/runs/${encodeURIComponent(app.runID)}`);
      } catch (err) {
        out.hidden = false;
        out.textContent = `no link: ${err.message}`;
        return;
      }
    }
    offerLink(out, presetURL(setupOf(run)));
  });
}
