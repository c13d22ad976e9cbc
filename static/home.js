// The home page's form: checks hyperparameters as they are typed, greys out
// the ones the chosen loss, optimiser or pair source does not use, starts the
// run with POST /api/runs, keeps its control token and opens the run's page.
// Uploads (drop a file or pick one) go to POST /api/datasets and become a
// dataset card of their own. Elements are found by data-testid
// (docs/protocol.md, "Page contract").

import { request, saveToken } from './api.js';
import { enhanceUpload } from './datasets.js';
import { applyPreset, controlsOf, listParam, offerLink, presetURL } from './preset.js';

const $ = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

// Fields that only matter for some choices: name -> [radio or select, values].
const APPLIES = {
  margin: ['loss', ['contrastive', 'triplet']],
  temperature: ['loss', ['ntxent', 'supcon']],
  mining: ['loss', ['triplet']],
  momentum: ['optimizer', ['sgd']],
  augment: ['pairs', ['augment', 'labels+augment']],
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
    // Choosing a dataset chooses how it makes pairs (listening histories:
    // by co-occurrence), unless a link is setting the form.
    if (ev.isTrusted && f.type !== 'radio') f.dataset.edited = '1';
    if (f.name === 'dataset' && !form.dataset.presetting) datasetDefaults(form, f);
    // Choosing the pairs sets what they need (self-supervised pairs: their
    // temperature, batch and epochs), keeping what the learner typed.
    if (f.name === 'pairs' && ev.isTrusted && !form.dataset.presetting) {
      pairsDefaults(form, form.querySelector('[data-testid="dataset-card"]:has(input:checked)'), true);
    }
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

/**
 * datasetDefaults sets the settings the chosen dataset's defaults change
 * (its card's data-defaults: the pair source, and for each source the
 * epochs, batch, learning rate, schedule, temperature and augmentation),
 * as POST /api/runs and the CLI would choose them.
 */
function datasetDefaults(form, radio) {
  const card = radio.closest('[data-defaults]');
  const defaults = defaultsOf(card);
  usablePairs(form, card);
  if (!defaults) return;
  setField(form, 'pairs', defaults.pairs);
  pairsDefaults(form, card, false);
}

/** cardJSON reads a JSON data attribute of a dataset card, or null. */
function cardJSON(card, key) {
  try {
    return JSON.parse((card && card.dataset[key]) || 'null');
  } catch {
    return null;
  }
}

function defaultsOf(card) {
  return cardJSON(card, 'defaults');
}

/**
 * pairsDefaults sets what the chosen pair source changes on the chosen
 * dataset; keepEdited leaves the values the learner typed.
 */
function pairsDefaults(form, card, keepEdited) {
  const defaults = defaultsOf(card);
  const pairs = form.elements.namedItem('pairs');
  const values = defaults && defaults.by_pairs && pairs && defaults.by_pairs[pairs.value];
  if (!values) return;
  for (const [name, value] of Object.entries(values)) {
    const f = form.elements.namedItem(name);
    if (keepEdited && f && f.dataset && f.dataset.edited) continue;
    setField(form, name, value);
  }
  batchNote(form, values.batch);
}

function setField(form, name, value) {
  const f = form.elements.namedItem(name);
  if (!f || (f.dataset && f.dataset.locked)) return;
  if (f instanceof RadioNodeList) {
    const r = [...f].find((x) => x.value === value);
    if (r && !r.disabled && !r.checked) {
      r.checked = true;
      r.dispatchEvent(new Event('input', { bubbles: true }));
    }
  } else if (f.value !== value) {
    f.value = value;
    f.dispatchEvent(new Event('input', { bubbles: true }));
  }
}

/**
 * usablePairs disables the pair sources the chosen dataset cannot make
 * (its card's data-unusable), each with the reason beside it.
 */
function usablePairs(form, card) {
  const unusable = cardJSON(card, 'unusable') || {};
  for (const label of form.querySelectorAll('[data-testid="pairs-option"]')) {
    const radio = label.querySelector('input');
    const why = unusable[label.dataset.value] || '';
    radio.disabled = why !== '';
    label.classList.toggle('unusable', why !== '');
    let note = label.querySelector('.choice-unusable');
    if (why && !note) {
      note = document.createElement('span');
      note.className = 'choice-unusable';
      note.dataset.testid = 'pairs-unusable';
      label.append(note);
    }
    if (note) {
      note.textContent = why ? `Not for this dataset: ${why}.` : '';
      note.hidden = !why;
    }
  }
}

/** batchNote says when the batch was cut to fit a small dataset. */
function batchNote(form, batch) {
  const help = form.querySelector('[data-testid="field-batch"]')?.closest('.field')?.querySelector('.field-help');
  if (!help) return;
  if (!help.dataset.plain) help.dataset.plain = help.textContent;
  const n = Number(batch);
  const def = Number(form.querySelector('[data-testid="field-batch"]').defaultValue);
  help.textContent = Number.isFinite(n) && n < def ? `${help.dataset.plain} Set to ${n}: all of this dataset's training items, as it has fewer than ${def}.` : help.dataset.plain;
}

/** choiceName is how the form names value v of the choice or select by. */
function choiceName(form, by, v) {
  const title = form.querySelector(`[data-testid="${by}-option"][data-value="${CSS.escape(v)}"] .choice-title`);
  if (title) return title.firstChild ? title.firstChild.textContent.trim() : title.textContent.trim();
  const option = form.querySelector(`select[name="${CSS.escape(by)}"] option[value="${CSS.escape(v)}"]`);
  return option ? option.textContent : v;
}

/** applicability disables the fields the current choices do not use. */
function applicability(form) {
  for (const [name, [by, values]] of Object.entries(APPLIES)) {
    const f = form.elements.namedItem(name);
    const chooser = form.elements.namedItem(by);
    if (!f || !chooser || f instanceof RadioNodeList) continue;
    const on = values.includes(chooser.value);
    f.disabled = !on;
    f.title = on ? '' : `Only used with ${values.map((v) => choiceName(form, by, v)).join(' or ')}`;
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
    // A folded setting with an error unfolds.
    const folded = p.closest('details');
    if (folded) folded.open = true;
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

/**
 * presets sets the form from the page's query string (hiding and locking
 * what it says), shows what could not be applied, and wires "Copy link to
 * this setup", which keeps the exercise's hide and lock lists.
 */
function presets(form) {
  const params = new URLSearchParams(location.search);
  // The dataset's defaults first (the link's dataset, if the form has it),
  // then what the link says.
  const named = params.get('dataset');
  const linked = named && [...form.querySelectorAll('input[name="dataset"]')].find((r) => r.value === named);
  const chosen = linked || form.querySelector('input[name="dataset"]:checked');
  if (chosen) {
    chosen.checked = true;
    datasetDefaults(form, chosen);
  }
  const notices = applyPreset(form, params, crossCheck);
  // A link that sets or locks a folded setting shows it.
  const folded = $('more-settings', form);
  if (folded && [...params.keys()].some((k) => folded.querySelector(`[name="${CSS.escape(k)}"]`))) folded.open = true;
  applicability(form);
  crossCheck(form);
  const box = $('preset-notice');
  if (box && notices.length) {
    const ul = document.createElement('ul');
    for (const n of notices) {
      const li = document.createElement('li');
      li.textContent = n;
      ul.append(li);
    }
    box.replaceChildren(ul);
    box.hidden = false;
  }
  const extra = { hide: listParam(params, 'hide'), lock: listParam(params, 'lock') };
  const copy = $('copy-link', form);
  const out = $('setup-link', form);
  if (copy && out) copy.addEventListener('click', () => offerLink(out, presetURL(configOf(form), extra)));
}

/**
 * teach adds a hide and a lock box to every control of the teacher's page
 * and keeps the exercise's link up to date.
 */
function teach(form) {
  const out = $('teacher-link');
  const boxes = [];
  for (const [name, c] of controlsOf(form)) {
    const at = Array.isArray(c) ? c[0].closest('fieldset')?.querySelector(':scope > legend') : c.closest('.field')?.querySelector(':scope > label');
    if (!at) continue;
    const span = document.createElement('span');
    span.className = 'teacher-boxes';
    for (const kind of ['hide', 'lock']) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.dataset.teacher = kind;
      box.dataset.control = name;
      box.dataset.testid = `teacher-${kind}-${name}`;
      label.append(box, ` ${kind}`);
      span.append(label);
      boxes.push(box);
    }
    // Beside the label, not inside it: a click must not reach the control.
    at.after(span);
  }
  const link = () => {
    const pick = (kind) => boxes.filter((b) => b.checked && b.dataset.teacher === kind).map((b) => b.dataset.control);
    return presetURL(configOf(form), { hide: pick('hide'), lock: pick('lock') });
  };
  const show = () => {
    if (out) out.textContent = link();
  };
  form.addEventListener('input', show);
  form.addEventListener('change', show);
  const copy = $('teacher-copy');
  if (copy && out) copy.addEventListener('click', () => offerLink(out, link()));
  show();
}

const form = $('train-form');
if (form) {
  enhance(form);
  presets(form);
  if (form.classList.contains('teaching')) teach(form);
}
enhanceUpload(form);
