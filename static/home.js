// The home page's form: checks hyperparameters as they are typed, greys out
// the ones the chosen loss, optimiser or pair source does not use, starts the
// run with POST /api/runs, keeps its control token and opens the run's page.
// Uploads (drop a file or pick one) go to POST /api/datasets and become a
// dataset card of their own. Elements are found by data-testid
// (docs/protocol.md, "Page contract").

import { request, saveToken } from './api.js';
import { enhanceUpload } from './datasets.js';

const $ = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

// Fields that only matter for some choices: name -> [radio or select, values].
const APPLIES = {
  margin: ['loss', ['contrastive', 'triplet']],
  temperature: ['loss', ['ntxent', 'supcon']],
  mining: ['loss', ['triplet']],
  momentum: ['optimizer', ['sgd']],
  augment: ['pairs', ['augment']],
};

function enhance(form) {
  const fields = () => [...form.elements].filter((e) => e.name && !e.disabled);

  form.addEventListener('input', (ev) => {
    const f = ev.target;
    if (!f.name) return;
    crossCheck(form);
    // Errors show as you type only once a field has been left or submitted:
    // no red text while someone is still typing their first digit.
    if (f.dataset.touched) showValidity(form, f);
    if (f.type === 'radio' || f.tagName === 'SELECT') applicability(form);
    if (f.name === 'dataset' || f.name === 'loss' || f.name === 'pairs') clearError(form, f.name);
    clearError(form, '', 'form-error');
  });
  form.addEventListener(
    'blur',
    (ev) => {
      const f = ev.target;
      if (!f.name || f.type === 'radio') return;
      f.dataset.touched = '1';
      crossCheck(form);
      showValidity(form, f);
    },
    true,
  );
  // The browser's own check fires "invalid" on each bad field before it
  // refuses to submit; show our inline message too.
  form.addEventListener(
    'invalid',
    (ev) => {
      ev.target.dataset.touched = '1';
      crossCheck(form);
      showValidity(form, ev.target);
    },
    true,
  );

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    crossCheck(form);
    for (const f of fields()) {
      f.dataset.touched = '1';
      showValidity(form, f);
    }
    if (!form.checkValidity()) {
      const bad = fields().find((f) => !f.validity.valid);
      if (bad) bad.focus();
      return;
    }
    const button = $('train-button', form);
    const label = button ? button.textContent : '';
    if (button) {
      button.disabled = true;
      button.textContent = 'Starting…';
    }
    try {
      const ans = await request('POST', '/api/runs', { body: configOf(form) });
      saveToken(ans.id, ans.token);
      location.assign(ans.url || `/runs/${encodeURIComponent(ans.id)}`);
    } catch (err) {
      if (button) {
        button.disabled = false;
        button.textContent = label;
      }
      const target = err.field && $(`error-${err.field}`, form) ? err.field : '';
      if (target) {
        showError(form, target, err.message);
        const f = form.elements.namedItem(target);
        const input = f && (f instanceof RadioNodeList ? f[0] : f);
        if (input && input.focus) input.focus();
      } else {
        showError(form, '', err.message, 'form-error');
      }
    }
  });

  applicability(form);
  crossCheck(form);
}

/** configOf builds the POST /api/runs body from the form's named fields. */
export function configOf(form) {
  const cfg = {};
  for (const f of form.elements) {
    if (!f.name || f.disabled || f.type === 'file') continue;
    // The upload's own options are not run settings.
    if (f.closest('[data-testid="upload-zone"]')) continue;
    if (f.type === 'radio' || f.type === 'checkbox') {
      if (f.type === 'radio' && f.checked) cfg[f.name] = f.value;
      if (f.type === 'checkbox') cfg[f.name] = f.checked;
      continue;
    }
    if (f.type === 'number' || f.type === 'range') {
      // Empty means "the default" (margin and temperature say so).
      if (f.value.trim() !== '' && Number.isFinite(f.valueAsNumber)) cfg[f.name] = f.valueAsNumber;
      continue;
    }
    if (f.name === 'dims') {
      cfg.dims = Number(f.value);
      continue;
    }
    if (f.tagName === 'SELECT' && f.value === '') continue; // "the loss's default"
    cfg[f.name] = f.value.trim();
  }
  return cfg;
}

/**
 * crossCheck adds the rules a single input's attributes cannot say: hidden
 * layer widths, warm-up no longer than training.
 */
function crossCheck(form) {
  const hidden = form.elements.namedItem('hidden');
  if (hidden && hidden.setCustomValidity) {
    const v = hidden.value.trim();
    let msg = '';
    if (v !== '') {
      const parts = v.split(',').map((s) => s.trim());
      if (parts.length > 4) msg = 'at most 4 hidden layers';
      else if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 4096)) {
        msg = 'widths are whole numbers from 1 to 4096, separated by commas (e.g. 256,128), or empty for none';
      }
    }
    hidden.setCustomValidity(msg);
  }
  const warmup = form.elements.namedItem('warmup');
  const epochs = form.elements.namedItem('epochs');
  if (warmup && epochs && warmup.setCustomValidity) {
    const w = warmup.valueAsNumber;
    const e = epochs.valueAsNumber;
    warmup.setCustomValidity(Number.isFinite(w) && Number.isFinite(e) && w > e ? `warm-up cannot be longer than the ${e} epochs of training` : '');
  }
}

/** applicability disables the fields the current choices do not use. */
function applicability(form) {
  for (const [name, [by, values]] of Object.entries(APPLIES)) {
    const f = form.elements.namedItem(name);
    const chooser = form.elements.namedItem(by);
    if (!f || !chooser || f instanceof RadioNodeList) continue;
    const on = values.includes(chooser.value);
    f.disabled = !on;
    f.title = on ? '' : `only used when ${by} is ${values.join(' or ')}`;
    if (!on) clearError(form, name);
  }
}

function showValidity(form, f) {
  if (f.type === 'radio' || !f.name) return;
  if (f.validity.valid) clearError(form, f.name);
  else showError(form, f.name, messageOf(f));
}

function messageOf(f) {
  const v = f.validity;
  if (v.customError) return f.validationMessage;
  if (v.valueMissing) return 'required';
  if (v.badInput) return 'enter a number';
  if (v.rangeUnderflow) return `at least ${f.min}`;
  if (v.rangeOverflow) return `at most ${f.max}`;
  if (v.stepMismatch) return f.step === '1' || f.step === '' ? 'a whole number' : `in steps of ${f.step}`;
  if (v.patternMismatch) {
    const example = f.placeholder.replace(/^e\.g\.\s*/i, '');
    return example ? `not in the expected form, e.g. ${example}` : 'not in the expected form';
  }
  return f.validationMessage;
}

function showError(form, field, msg, testid) {
  const p = $(testid || `error-${field}`, form);
  if (p) {
    p.textContent = msg;
    p.hidden = false;
  }
  const f = field && form.elements.namedItem(field);
  if (f && f.setAttribute) f.setAttribute('aria-invalid', 'true');
}

function clearError(form, field, testid) {
  const p = $(testid || `error-${field}`, form);
  if (p && !p.hidden) {
    p.hidden = true;
    p.textContent = '';
  }
  const f = field && form.elements.namedItem(field);
  if (f && f.removeAttribute) f.removeAttribute('aria-invalid');
}

const form = $('train-form');
if (form) enhance(form);
enhanceUpload(form);
