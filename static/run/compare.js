// The run page's Compare menu: open this run side by side with another
// of the session's runs on the same dataset (/compare/this/other), or
// train a second one with one change (loss, pairs, temperature or margin,
// the rest as this run's, the seed too) and compare with it.

import { request, saveToken } from '../api.js';
import { setupOf } from './setup.js';
import { el } from './dom.js';

const SOFTMAX = new Set(['ntxent', 'supcon']); // losses with a temperature
const MARGINED = new Set(['contrastive', 'triplet']); // losses with a margin

/**
 * createCompareMenu wires the menu, if the page has one.
 * @param {import('./state.js').App} app
 */
export function createCompareMenu(app) {
  const menu = app.root.querySelector('[data-testid="compare-menu"]');
  if (!menu) return;
  const list = menu.querySelector('[data-testid="compare-runs"]');
  const form = menu.querySelector('[data-testid="compare-train"]');
  const status = menu.querySelector('[data-testid="compare-train-status"]');
  const say = (text) => {
    status.textContent = text;
    status.hidden = !text;
  };

  async function summary() {
    if (app.S.run && app.S.run.config) return app.S.run;
    return request('GET', `/api/runs/${encodeURIComponent(app.runID)}`);
  }

  async function listRuns() {
    try {
      const me = await summary();
      const runs = await request('GET', '/api/runs');
      const others = runs.filter((r) => r.id !== app.runID && r.config && r.config.dataset === me.config.dataset);
      list.replaceChildren();
      if (!others.length) {
        list.append(el('li', { class: 'compare-none', text: 'No other run on this dataset yet: train one with one change below.' }));
        return;
      }
      for (const r of others) {
        const label = `${r.name || r.id}: ${r.config.loss} · ${r.config.pairs} · ${r.state}, epoch ${r.epoch}/${r.epochs}`;
        const a = el('a', { href: `/compare/${encodeURIComponent(app.runID)}/${encodeURIComponent(r.id)}`, 'data-testid': `compare-with-${r.id}`, text: label });
        list.append(el('li', {}, a));
      }
    } catch (err) {
      list.replaceChildren(el('li', { class: 'compare-none', text: `cannot list your runs: ${err.message}` }));
    }
  }
  const body = menu.querySelector('.compare-menu-body');
  menu.addEventListener('toggle', () => {
    if (!menu.open) return;
    // Hang the box from the summary's right edge, or from its left when
    // that would push it off the page (the header wraps on narrow screens).
    body.style.left = '';
    body.style.right = '';
    if (body.getBoundingClientRect().left < 8) {
      body.style.left = '0';
      body.style.right = 'auto';
    }
    listRuns();
  });

  // A loss without the setting leaves it to the loss's default.
  form.loss.addEventListener('change', () => {
    if (!SOFTMAX.has(form.loss.value)) form.temperature.value = '';
    if (!MARGINED.has(form.loss.value)) form.margin.value = '';
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say('starting the second run…');
    try {
      const me = await summary();
      const body = setupOf(me);
      body.loss = form.loss.value;
      body.pairs = form.pairs.value;
      delete body.temperature;
      delete body.margin;
      delete body.mining;
      if (form.loss.value === me.config.loss && me.config.mining) body.mining = me.config.mining;
      const t = parseFloat(form.temperature.value);
      const m = parseFloat(form.margin.value);
      if (SOFTMAX.has(body.loss) && Number.isFinite(t)) body.temperature = t;
      if (MARGINED.has(body.loss) && Number.isFinite(m)) body.margin = m;
      const ans = await request('POST', '/api/runs', { body });
      saveToken(ans.id, ans.token);
      say('opening the comparison…');
      location.assign(`/compare/${encodeURIComponent(app.runID)}/${encodeURIComponent(ans.id)}`);
    } catch (err) {
      say(`could not start it: ${err.message}`);
    }
  });
}
