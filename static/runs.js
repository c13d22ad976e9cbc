// The runs page (/runs): rename and delete the runs this browser started,
// with the control tokens it keeps (see api.js). Rows are rendered by the
// server; this script only acts on them and updates them with textContent.

import { request, loadToken, APIError } from './api.js';

const errorBox = document.querySelector('[data-testid="runs-error"]');

function showError(msg) {
  errorBox.textContent = msg;
  errorBox.hidden = false;
}

function clearError() {
  errorBox.textContent = '';
  errorBox.hidden = true;
}

function message(err) {
  return err instanceof APIError ? err.message : String(err);
}

for (const row of document.querySelectorAll('[data-testid="run-row"]')) {
  const id = row.dataset.runId;
  const token = loadToken(id);
  const rename = row.querySelector('[data-testid="run-rename"]');
  const del = row.querySelector('[data-testid="run-delete"]');
  if (!rename || !del) continue;
  if (!token) {
    // Started in this session but in a browser storage that is gone (or
    // another tab without storage): the server would refuse.
    for (const b of [rename, del]) {
      b.disabled = true;
      b.title = 'Only the browser tab that started this run holds its key';
    }
    continue;
  }
  rename.addEventListener('click', async () => {
    const nameEl = row.querySelector('[data-testid="run-name"]');
    const name = window.prompt('A name for this run (empty for none):', nameEl.textContent.trim() === id ? '' : nameEl.textContent.trim());
    if (name === null) return;
    clearError();
    try {
      const sum = await request('PATCH', `/api/runs/${encodeURIComponent(id)}`, { body: { name }, token });
      nameEl.textContent = sum.name || id;
    } catch (err) {
      showError(`Could not rename the run: ${message(err)}`);
    }
  });
  del.addEventListener('click', async () => {
    const label = row.querySelector('[data-testid="run-name"]').textContent.trim();
    if (!window.confirm(`Delete the run ${label} and everything recorded of it? This cannot be undone.`)) return;
    clearError();
    try {
      await request('DELETE', `/api/runs/${encodeURIComponent(id)}`, { token });
      row.remove();
    } catch (err) {
      showError(`Could not delete the run: ${message(err)}`);
    }
  });
}

// Compare: tick two runs on the same dataset, and the link opens them side
// by side (/compare/A/B, in the order ticked).
const compare = document.querySelector('[data-testid="runs-compare"]');
const compareNote = document.querySelector('[data-testid="runs-compare-note"]');
const picked = [];
function updateCompare() {
  const rows = picked.map((id) => document.querySelector(`[data-testid="run-row"][data-run-id="${CSS.escape(id)}"]`));
  const same = rows.length === 2 && rows[0].dataset.dataset === rows[1].dataset.dataset;
  compare.setAttribute('aria-disabled', String(!same));
  compare.href = same ? `/compare/${encodeURIComponent(picked[0])}/${encodeURIComponent(picked[1])}` : '#';
  compareNote.textContent =
    rows.length < 2 ? 'Tick two runs on the same dataset to see them side by side.' : same ? 'The first ticked is the reference the second is aligned to.' : 'These two runs are on different datasets: only runs on the same items compare.';
}
if (compare) {
  for (const box of document.querySelectorAll('[data-testid="run-pick"]')) {
    const id = box.closest('[data-testid="run-row"]').dataset.runId;
    // A browser may restore ticks on reload or going back: start from them.
    if (box.checked && picked.length < 2) picked.push(id);
    else box.checked = false;
    box.addEventListener('change', () => {
      const at = picked.indexOf(id);
      if (box.checked && at < 0) picked.push(id);
      if (!box.checked && at >= 0) picked.splice(at, 1);
      while (picked.length > 2) {
        const old = picked.shift();
        const oldBox = document.querySelector(`[data-testid="run-row"][data-run-id="${CSS.escape(old)}"] [data-testid="run-pick"]`);
        if (oldBox) oldBox.checked = false;
      }
      updateCompare();
    });
  }
  updateCompare();
  compare.addEventListener('click', (ev) => {
    if (compare.getAttribute('aria-disabled') === 'true') ev.preventDefault();
  });
}
