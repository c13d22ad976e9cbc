// Pointing at the map: the hover tooltip, the selection (click, shift-click
// to add, Escape to clear) and the neighbours panel, which tells about the
// focus (the last point selected) and its nearest items.

import { request } from '../api.js';
import { POSITIVE, NEGATIVE } from '../palette.js';
import { el } from './dom.js';
import { marginOf } from './state.js';
import { labelChip } from './dataset.js';

const NEIGHBOURS = 10;
// Neighbours are fetched at most every NEAR_GAP_MS, for the focus and the
// epoch shown when the request starts: during fast training or replay the
// epoch changes many times a second, and a debounce would never fire.
const NEAR_GAP_MS = 400;

/**
 * createSelection fills the neighbours panel and returns {hover, click,
 * select, render, epochShown}: hover and click are the Scatter's callbacks,
 * select(i, add) selects item i (-1 clears; add keeps the others), render
 * redraws the panel, epochShown refreshes the focus's neighbours for the
 * epoch now shown.
 * @param {import('./state.js').App} app
 */
export function createSelection(app) {
  const { ui, S, runID } = app;
  let nearTimer = 0;
  let nearBusy = false;
  let nearAgain = false;
  let nearLast = 0;
  const body = el('div', { class: 'panel-body' });
  ui.neighbours.append(body);

  function hover(i, x, y) {
    const { previews, map } = app;
    S.hover = i;
    map.overlay.style.cursor = i >= 0 ? 'pointer' : '';
    if (i < 0) {
      ui.tooltip.hidden = true;
      if (app.scatter) app.scatter.changed();
      return;
    }
    const split = S.splits[i] === 1 ? 'held out' : 'training';
    const meta = el('div', { class: 'tooltip-meta', text: `item ${i} · ${split}` });
    const words = previews.isImage() ? '' : previews.words(i);
    ui.tooltip.classList.toggle('words', words !== '');
    if (words) {
      // Sentences and names are the point of these items: they come first,
      // large, with the class and item number under them.
      const head = previews.headword(i);
      const p = head ? el('p', { class: 'tooltip-words' }, el('strong', { text: head }), `: ${words.slice(head.length + 2)}`) : el('p', { class: 'tooltip-words', text: words });
      ui.tooltip.replaceChildren(
        p,
        el('div', { class: 'tooltip-head' }, labelChip(S, i), meta),
      );
    } else {
      // A picture when there is one; plain vectors have only their label.
      const picture = previews.isImage() ? previews.item(i, 96) : null;
      ui.tooltip.replaceChildren(...[picture, el('div', { class: 'tooltip-text' }, labelChip(S, i), meta)].filter(Boolean));
    }
    ui.tooltip.hidden = false;
    const r = map.stack.getBoundingClientRect();
    const tw = ui.tooltip.offsetWidth;
    const th = ui.tooltip.offsetHeight;
    let left = r.left + x + 18;
    let top = r.top + y + 18;
    if (left + tw > window.innerWidth - 8) left = r.left + x - tw - 18;
    if (top + th > window.innerHeight - 8) top = r.top + y - th - 18;
    ui.tooltip.style.left = `${Math.max(4, left)}px`;
    ui.tooltip.style.top = `${Math.max(4, top)}px`;
    app.scatter.changed();
  }

  function click(i, ev) {
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
      render();
    } else {
      S.selected = add ? [...S.selected.filter((j) => j !== i), i] : [i];
      S.focus = i;
      S.near = null;
      render();
      fetchNeighbours();
    }
    if (app.scatter) app.scatter.changed();
  }

  function epochShown() {
    if (S.focus >= 0) fetchNeighbours();
  }

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
        render();
        if (app.scatter) app.scatter.changed();
      }
    } catch (err) {
      if (item === S.focus) {
        S.near = { error: err.message };
        render();
      }
    } finally {
      nearBusy = false;
      if (nearAgain) fetchNeighbours();
    }
  }

  function render() {
    const { previews } = app;
    const i = S.focus;
    if (i < 0) {
      body.replaceChildren();
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
        labelChip(S, i),
        el('div', { class: 'tooltip-meta', text: S.splits[i] === 1 ? 'held out from training' : 'a training item' }),
      ),
    );
    const parts = [head];
    const near = S.near;
    if (!near) parts.push(el('p', { class: 'panel-hint', text: 'loading neighbours…' }));
    else if (near.error) parts.push(el('p', { class: 'panel-error', text: near.error }));
    else {
      parts.push(
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
      const m = marginOf(S);
      if (m != null) key.append(`  ◯ margin ${m} (drawn approximately: the map is a projection)`);
      parts.push(key);
    }
    body.replaceChildren(...parts);
  }

  function neighbourList(title, items, testid) {
    const mine = S.labels[S.focus];
    const same = items.filter((n) => S.labels[n.item] === mine).length;
    const list = el('ol', { class: 'neighbour-list' });
    for (const n of items) {
      const li = el(
        'li',
        { class: S.labels[n.item] === mine ? 'same' : 'other' },
        app.previews.item(n.item, 48),
        el('span', { class: 'nb-label' }, labelChip(S, n.item)),
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

  render();
  return { hover, click, select, render, epochShown };
}
