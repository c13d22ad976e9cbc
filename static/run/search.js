// Search: the box, the request to the server as the user types, the list of
// results and the matches lit up on the map (the overlay rings them).

import { request } from '../api.js';
import { colourOf } from '../palette.js';
import { $, el, need } from './dom.js';
import { labelName } from './dataset.js';

const SEARCH_K = 50; // results asked for, listed and highlighted
const SEARCH_DEBOUNCE_MS = 250; // quiet typing time before a search is sent
const SEARCH_REFRESH_MS = 1000; // re-ask at most this often as epochs change

// How each search method found its results: a short note, and the whole
// story for the summary's tooltip.
const SEARCH_HOW = {
  features: ['by their words', 'Matched by the words and letter groups of the texts themselves, not by the encoder, so these results stay the same every epoch. Click one to see its neighbours in the embedding.'],
  encoder: ['by the encoder', 'The query was embedded by the encoder as trained so far and the nearest items found among the embeddings of the same epoch (the newest), whichever epoch is on screen.'],
  names: ['by name, then nearest', 'Items whose name contains the words, then the items nearest to the best match in the embedding.'],
  labels: ['most typical first', 'Items of the matching class, the nearest to their class mean in the embedding first.'],
  embedding: ['nearest in the embedding', 'The items nearest in the embedding.'],
};

/**
 * createSearch wires the search box, moving its panel beside the map, and
 * returns {epochShown}, which searches again for the epoch now shown when
 * the results depend on the embedding, setQuery and query.
 * @param {import('./state.js').App} app
 * @param {{select: (i: number, add: boolean) => void}} deps
 */
export function createSearch(app, { select }) {
  const { ui, S, root, runID } = app;
  // The server renders the search box; a page without one gets it beside the
  // legend.
  const input = $('search-input') || need('search-input', 'input', document.querySelector('.side') || root);
  const results = $('search-results') || need('search-results', 'ol', input.parentElement || root);
  // Search belongs next to the map it lights up: in the side column, under
  // the controls, rather than below the fold.
  {
    const panel = input.closest('section');
    const side = ui.controls.parentElement;
    if (panel && side && side !== root && !panel.contains(side) && !side.contains(panel)) {
      panel.classList.add('in-side');
      side.insertBefore(panel, ui.controls.nextSibling);
    }
  }
  input.type = 'search';
  input.maxLength = 200;
  input.autocomplete = 'off';
  input.spellcheck = false;
  if (!input.placeholder) input.placeholder = 'Search items…';
  const summary = el('p', { class: 'search-summary', 'data-testid': 'search-summary', role: 'status' });
  summary.setAttribute('aria-live', 'polite');
  results.before(summary);

  let timer = 0;
  let inFlight = null; // the AbortController of the search under way
  let last = 0;

  /** debounce searches once typing has paused. */
  function debounce() {
    clearTimeout(timer);
    timer = setTimeout(run, SEARCH_DEBOUNCE_MS);
  }

  /**
   * epochShown asks again for the epoch now shown, at most every
   * SEARCH_REFRESH_MS: results found through the embedding move with it.
   */
  function epochShown() {
    if (!S.search || S.search.method === 'features') return;
    if (timer || inFlight) return;
    timer = setTimeout(run, Math.max(0, last + SEARCH_REFRESH_MS - performance.now()));
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = 0;
    if (input.value.trim() === '') {
      clear();
      return;
    }
    debounce();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      clearTimeout(timer);
      timer = 0;
      run();
    } else if (ev.key === 'Escape') {
      input.value = '';
      clear();
    }
  });

  async function run() {
    timer = 0;
    const q = input.value.trim();
    if (!q) {
      clear();
      return;
    }
    if (S.viewing == null) {
      summary.textContent = 'Search works once the first epoch is on the map.';
      return;
    }
    if (inFlight) inFlight.abort();
    const ctl = new AbortController();
    inFlight = ctl;
    last = performance.now();
    const params = new URLSearchParams({ q, k: String(SEARCH_K), epoch: String(S.viewing) });
    try {
      const ans = await request('GET', `/api/runs/${encodeURIComponent(runID)}/search?${params}`, { signal: ctl.signal });
      if (ctl !== inFlight || input.value.trim() !== q) return;
      apply(q, ans || {});
    } catch (err) {
      if (err.name === 'AbortError' || ctl !== inFlight) return;
      summary.textContent = err.message;
      summary.classList.add('panel-error');
    } finally {
      if (ctl === inFlight) inFlight = null;
    }
  }

  function apply(q, ans) {
    const found = Array.isArray(ans.results) ? ans.results.filter((r) => r.item >= 0 && r.item < S.labels.length) : [];
    const classes = Array.isArray(ans.classes) ? ans.classes : [];
    const items = new Set(found.map((r) => r.item));
    // A class search lights up the whole class; its most typical items get
    // the rings.
    const lit = new Set(items);
    if (classes.length) {
      const want = new Set(classes);
      for (let i = 0; i < S.labels.length; i++) if (want.has(S.labels[i])) lit.add(i);
    }
    const epoch = Number.isInteger(ans.epoch) ? ans.epoch : null;
    S.search = { q, method: ans.method || '', classes, results: found, items, lit: lit.size, epoch };
    if (app.scatter) app.scatter.setMatches(lit);
    render();
  }

  function clear() {
    if (inFlight) inFlight.abort();
    inFlight = null;
    clearTimeout(timer);
    timer = 0;
    S.search = null;
    if (app.scatter) app.scatter.setMatches(null);
    render();
  }

  function render() {
    const { previews } = app;
    summary.classList.remove('panel-error');
    const sr = S.search;
    if (!sr) {
      summary.textContent = '';
      results.replaceChildren();
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
    // A text query is embedded with the newest weights, so it is ranked
    // among the newest epoch's embeddings, whichever epoch is on screen.
    if (n > 0 && sr.method === 'encoder' && sr.epoch != null && sr.epoch !== S.viewing) text += ` (as of epoch ${sr.epoch})`;
    summary.textContent = text;
    summary.title = n > 0 && how ? how[1] : '';
    results.replaceChildren(
      ...sr.results.map((r) => {
        const words = r.text || previews.words(r.item);
        const picture = previews.isImage() && previews.pixels ? previews.item(r.item, 28) : null;
        const li = el(
          'li',
          { class: `search-result match-${r.match || 'item'}` },
          el('span', { class: 'swatch', style: { background: colourOf(S.labels[r.item]) } }),
          picture,
          el('span', { class: 'search-words', text: words || `${labelName(S, r.item)} · item ${r.item}` }),
        );
        li.dataset.item = String(r.item);
        li.title = `${words ? `${words}\n` : ''}${labelName(S, r.item)} · item ${r.item}: click to select`;
        li.addEventListener('click', () => select(r.item, false));
        li.addEventListener('pointerenter', () => {
          S.hover = r.item;
          if (app.scatter) app.scatter.changed();
        });
        li.addEventListener('pointerleave', () => {
          if (S.hover === r.item) S.hover = -1;
          if (app.scatter) app.scatter.changed();
        });
        return li;
      }),
    );
  }

  /** setQuery searches for q at once ('' clears), as typing it would. */
  function setQuery(q) {
    if (input.value.trim() === q.trim()) return;
    input.value = q;
    clearTimeout(timer);
    timer = 0;
    if (q.trim() === '') clear();
    else run();
  }

  /** query is the search box's text. */
  const query = () => input.value.trim();

  return { epochShown, setQuery, query };
}
