// What the page shows about the dataset: class names and chips, the legend
// (click a class to hide it) and the badges for synthetic data and
// precomputed embeddings.

import { PALETTE, colourOf } from '../palette.js';
import { $, el } from './dom.js';

/** labelName returns the class name of item i, or 'unlabelled'. */
export function labelName(S, i) {
  const l = S.labels[i];
  return l >= 0 ? S.classNames[l] ?? String(l) : 'unlabelled';
}

/** labelChip returns a swatch and the class name of item i. */
export function labelChip(S, i) {
  const l = S.labels[i];
  return el('span', { class: 'chip' }, el('span', { class: 'swatch', style: { background: colourOf(l) } }), el('span', { text: labelName(S, i) }));
}

/**
 * legendItems returns a list item per class of S (its labels and class
 * names, unlabelled last if any): a button with the class's swatch, name
 * and count, carrying data-label, that calls onClick(label, button), and a
 * note when colours repeat.
 * @param {{labels: Int32Array, classNames: string[]}} S
 * @param {string} title the buttons' tooltip
 * @param {(label: number, button: HTMLButtonElement) => void} onClick
 * @returns {HTMLLIElement[]}
 */
export function legendItems(S, title, onClick) {
  const counts = new Map();
  for (const l of S.labels) counts.set(l, (counts.get(l) || 0) + 1);
  const entries = S.classNames.map((name, k) => [k, name]);
  if (counts.has(-1)) entries.push([-1, 'unlabelled']);
  const items = entries.map(([k, name]) => {
    const b = el(
      'button',
      { type: 'button', class: 'legend-item', title },
      el('span', { class: 'swatch', style: { background: colourOf(k) } }),
      el('span', { class: 'legend-name', text: name }),
      el('span', { class: 'legend-count', text: String(counts.get(k) || 0) }),
    );
    b.dataset.label = String(k);
    b.addEventListener('click', () => onClick(k, b));
    return el('li', {}, b);
  });
  if (S.classNames.length > PALETTE.length) {
    items.push(el('li', { class: 'legend-note', text: `colours repeat after ${PALETTE.length} classes` }));
  }
  return items;
}

/**
 * buildLegend lists the classes with their counts, as buttons that hide or
 * show a class on the map.
 * @param {import('./state.js').App} app
 */
export function buildLegend(app) {
  const { ui, S, root } = app;
  // Room for long class names (e.g. "verb.communication") beside the count.
  const longest = S.classNames.reduce((m, name) => Math.max(m, String(name).length), 0);
  root.style.setProperty('--side', longest > 11 ? `${Math.min(18, 7 + longest * 0.55)}rem` : '13rem');
  const items = legendItems(S, 'Show or hide this class', (k, b) => {
    if (S.hidden.has(k)) S.hidden.delete(k);
    else S.hidden.add(k);
    b.setAttribute('aria-pressed', String(!S.hidden.has(k)));
    if (app.scatter) app.scatter.setHidden(S.hidden);
  });
  for (const li of items) li.querySelector('button')?.setAttribute('aria-pressed', 'true');
  ui.legend.replaceChildren(...items);
}

/**
 * setHiddenClasses hides exactly the classes in hidden (as clicking their
 * legend entries would).
 * @param {import('./state.js').App} app
 * @param {Iterable<number>} hidden
 */
export function setHiddenClasses(app, hidden) {
  const { S, ui } = app;
  S.hidden = new Set(hidden);
  for (const b of ui.legend.querySelectorAll('button.legend-item')) {
    b.setAttribute('aria-pressed', String(!S.hidden.has(Number(b.dataset.label))));
  }
  if (app.scatter) app.scatter.setHidden(S.hidden);
}

/**
 * applyDatasetFlags marks synthetic data and sets the page up for
 * precomputed embeddings, which are explored rather than trained.
 * @param {import('./state.js').App} app
 */
export function applyDatasetFlags(app, d) {
  const { ui, S, root } = app;
  if (d.synthetic && !$('synthetic-badge')) {
    const badge = el('span', {
      class: 'badge synthetic',
      'data-testid': 'synthetic-badge',
      text: 'synthetic data',
      title: 'These items were made up by a program, not collected from real people or things.',
    });
    ui.title.after(badge);
  }
  if (d.precomputed) {
    S.precomputed = true;
    root.dataset.precomputed = 'true';
    if (!$('precomputed-note')) {
      ui.counter.after(
        el('span', {
          class: 'precomputed-note',
          'data-testid': 'precomputed-note',
          text: 'precomputed embeddings: exploring, not training',
        }),
      );
    }
    app.map.setHint();
  }
}
