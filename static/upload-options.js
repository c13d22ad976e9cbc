// The upload options' columns step: before a table is uploaded, its first
// 64 KiB go to POST /api/datasets/inspect, which says each column's role
// and guesses one for columns of words (a class, a name, a text). When a
// guess needs a person, the options panel shows the columns with a role
// each and waits for Upload (docs/protocol.md, "Uploads and sessions").

import { request } from './api.js';
import { el } from './run/dom.js';

const $ = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

const ROLES = [
  ['feature', 'Feature (numbers)'],
  ['label', 'Label: the class'],
  ['text', 'Text: shown and searched'],
  ['id', 'Name of each item'],
  ['ignore', 'Ignore'],
];

// The table shows the columns of words and the first number columns; the
// rest are features, as the server reads them.
const SHOWN = 12;

/** inspect asks the server what the start of file is. */
async function inspect(zone, file) {
  const q = new URLSearchParams({ name: file.name });
  const delim = zone.querySelector('select[name="delimiter"]');
  if (delim && delim.value) q.set('delimiter', delim.value);
  const comma = zone.querySelector('input[name="decimal_comma"]');
  if (comma && comma.checked) q.set('decimal_comma', 'true');
  return request('POST', `/api/datasets/inspect?${q}`, { raw: file.slice(0, 64 << 10), contentType: 'application/octet-stream' });
}

/**
 * columnsStep decides, for a file about to be uploaded, the column options:
 * it resolves with the extra form fields to send ({} when the server's own
 * reading is right), or null when the learner cancels. A file the server
 * cannot read rejects with its message.
 * @param {HTMLElement} zone the upload zone
 * @param {File} file
 * @param {(text: string, kind: string) => void} setStatus
 */
export async function columnsStep(zone, file, setStatus) {
  const panel = $('upload-columns', zone);
  const details = $('upload-options', zone);
  let ans = await inspect(zone, file);
  if (!panel || ans.format !== 'csv' || !ans.needs_choice) return {};

  return new Promise((resolve) => {
    const table = $('upload-columns-table', panel);
    const help = $('upload-columns-help', panel);
    const confirm = $('upload-confirm', panel);
    const cancel = $('upload-cancel', panel);
    const delim = zone.querySelector('select[name="delimiter"]');
    const comma = zone.querySelector('input[name="decimal_comma"]');
    let selects = [];

    const draw = () => {
      const cols = ans.columns || [];
      const words = cols.filter((c) => !c.numeric);
      const numbers = cols.filter((c) => c.numeric);
      const shown = [...words, ...numbers].slice(0, Math.max(SHOWN, words.length));
      const hiddenNumbers = cols.length - shown.length;
      if (comma && ans.decimal_comma) comma.checked = true;
      const guessed = words.filter((c) => c.guessed).map((c) => `“${c.name}”`);
      help.textContent =
        `${file.name}: ${guessed.length === 1 ? 'column' : 'columns'} ${guessed.join(', ')} ${guessed.length === 1 ? 'holds' : 'hold'} words, not numbers. ` +
        'Check the role of each column (the label colours the points and scores the map), then press Upload.' +
        (ans.decimal_comma ? ' Its numbers have decimal commas: “Decimal comma” is ticked.' : '');
      selects = [];
      const head = el('tr');
      const role = el('tr');
      const rows = [el('tr'), el('tr'), el('tr')];
      for (const c of shown) {
        head.append(el('th', { scope: 'col', text: c.name }));
        const sel = el('select', { 'data-testid': 'upload-role', 'data-column': c.name, 'aria-label': `Role of column ${c.name}` });
        for (const [value, text] of ROLES) {
          const o = el('option', { value, text });
          // A column of words cannot be a feature.
          if (value === 'feature' && !c.numeric) o.disabled = true;
          sel.append(o);
        }
        sel.value = c.role;
        sel.addEventListener('change', () => {
          // One label, one text, one name: choosing one elsewhere moves it.
          if (['label', 'text', 'id'].includes(sel.value)) {
            for (const other of selects) {
              if (other !== sel && other.value === sel.value) other.value = other.dataset.numeric === 'true' ? 'feature' : 'ignore';
            }
          }
        });
        sel.dataset.numeric = String(c.numeric);
        selects.push(sel);
        role.append(el('td', {}, sel));
        rows.forEach((r, i) => r.append(el('td', { text: (c.examples || [])[i] ?? '' })));
      }
      table.replaceChildren(el('thead', {}, head, role), el('tbody', {}, ...rows));
      if (hiddenNumbers > 0) {
        table.append(el('caption', { text: `…and ${hiddenNumbers} more number columns, used as features.` }));
      }
    };

    const done = (value) => {
      panel.hidden = true;
      confirm.removeEventListener('click', onConfirm);
      cancel.removeEventListener('click', onCancel);
      delim?.removeEventListener('change', onDelim);
      resolve(value);
    };
    const onConfirm = () => {
      const pick = (r) => selects.find((s) => s.value === r)?.dataset.column ?? '-';
      const extra = {
        label_column: pick('label'),
        text_column: pick('text'),
        id_column: pick('id'),
        ignore_columns: selects.filter((s) => s.value === 'ignore').map((s) => s.dataset.column).join(','),
      };
      if (comma && comma.checked) extra.decimal_comma = 'true';
      done(extra);
    };
    const onCancel = () => {
      setStatus(`${file.name} not uploaded.`, 'warn');
      done(null);
    };
    const onDelim = async () => {
      try {
        ans = await inspect(zone, file);
        draw();
      } catch (err) {
        setStatus(err.message, 'error');
      }
    };
    confirm.addEventListener('click', onConfirm);
    cancel.addEventListener('click', onCancel);
    delim?.addEventListener('change', onDelim);

    draw();
    if (details) details.open = true;
    panel.hidden = false;
    setStatus(`Check the columns of ${file.name}, then press Upload.`, 'warn');
    confirm.focus({ preventScroll: true });
    panel.scrollIntoView({ block: 'nearest' });
  });
}
