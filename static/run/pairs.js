// The pairs panel: example pairs from a training batch of the epoch on the
// map, positives (pulled together) first, then negatives (pushed apart).
// They follow the timeline; "Other pairs" shows another sample of the same
// epoch.

import { request } from '../api.js';
import { el } from './dom.js';

const PAIRS_GAP_MS = 1000; // at most this often unless asked

/**
 * createPairs fills the pairs panel and returns {fetch, epochShown}:
 * fetch(force) asks for the shown epoch's pairs, at most every second
 * unless force is set (only a forced fetch shows its errors); epochShown
 * follows the timeline.
 * @param {import('./state.js').App} app
 */
export function createPairs(app) {
  const { ui, S, runID } = app;
  const body = el('div', { class: 'panel-body' });
  const button = el('button', { type: 'button', text: 'Other pairs', 'data-testid': 'pairs-refresh' });
  let sample = 0; // which group of the epoch's pairs
  let shownEpoch = null; // the epoch whose pairs are on screen
  let timer = 0;
  button.addEventListener('click', () => {
    sample++;
    fetchPairs(true);
  });
  ui.pairs.append(button, body);
  body.append(el('p', { class: 'panel-hint', text: 'Example pairs appear once training starts.' }));
  let busy = false;

  async function fetchPairs(force) {
    if (S.precomputed) return; // nothing was trained, so there are no pairs
    const now = Date.now();
    if (busy || (!force && now - S.lastPairs < PAIRS_GAP_MS)) return;
    busy = true;
    S.lastPairs = now;
    const q = new URLSearchParams({ n: '6', sample: String(sample) });
    if (S.viewing != null) q.set('epoch', String(S.viewing));
    try {
      const ans = await request('GET', `/api/runs/${encodeURIComponent(runID)}/pairs?${q}`);
      shownEpoch = ans && ans.epoch;
      render(ans);
    } catch (err) {
      if (force) body.replaceChildren(el('p', { class: 'panel-error', text: err.message }));
    } finally {
      busy = false;
    }
  }

  /** views shows what the encoder saw of both sides of a pair. */
  function views(p) {
    const { previews } = app;
    if (previews.isImage() || !previews.hasWords()) {
      return el('span', { class: 'pair-views' }, previews.values(p.view_a || [], 64), previews.values(p.view_b || [], 64));
    }
    // Text and interactions: the (possibly augmented) texts, else the names.
    const side = (text, item) => el('span', { class: 'pair-words', text: text || previews.words(item) || `item ${item}` });
    return el('span', { class: 'pair-views words' }, side(p.text_a, p.a), side(p.text_b, p.b));
  }

  function render(ans) {
    const pairs = (ans && ans.pairs) || [];
    if (pairs.length === 0) {
      body.replaceChildren(el('p', { class: 'panel-hint', text: 'No pairs yet.' }));
      return;
    }
    const sorted = [...pairs].sort((a, b) => Number(b.positive) - Number(a.positive));
    const list = el('ul', { class: 'pair-list' });
    for (const p of sorted) {
      const kind = p.positive ? 'positive' : 'negative';
      const labelA = S.labels[p.a] >= 0 ? S.classNames[S.labels[p.a]] : '';
      const labelB = S.labels[p.b] >= 0 ? S.classNames[S.labels[p.b]] : '';
      list.append(
        el(
          'li',
          { class: `pair ${kind}` },
          views(p),
          el(
            'span',
            { class: 'pair-text' },
            el('strong', { text: p.positive ? 'positive: pull together' : 'negative: push apart' }),
            el('span', { text: labelA || labelB ? `${labelA} · ${labelB}` : `items ${p.a} · ${p.b}` }),
            el('span', { class: 'pair-distance', text: Number.isFinite(p.distance) ? `distance ${p.distance.toFixed(2)}` : '' }),
          ),
        ),
      );
    }
    body.replaceChildren(el('p', { class: 'panel-hint', 'data-testid': 'pairs-epoch', text: `From a batch of epoch ${ans.epoch}` }), list);
  }

  /** epochShown fetches the pairs of a newly shown epoch, soon after. */
  function epochShown() {
    if (S.viewing == null || S.viewing === shownEpoch) return;
    clearTimeout(timer);
    const wait = Math.max(0, PAIRS_GAP_MS - (Date.now() - S.lastPairs));
    timer = setTimeout(() => {
      if (S.viewing !== shownEpoch) fetchPairs(true);
    }, wait);
  }

  return { fetch: fetchPairs, epochShown };
}
