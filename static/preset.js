// Presets by URL (docs/protocol.md, "Presets"): every setting of the home
// form travels in the query string under its field's name (the API's
// name), so a link opens the form exactly configured. Two more parameters
// turn a link into an exercise: hide= lists controls not shown (their
// values still go with the run) and lock= controls shown but not editable.
// A value the form cannot take is left at its default with a visible
// notice, never a broken form.

/** The parameters that are not settings. */
const CONTROL_PARAMS = ['hide', 'lock'];

/**
 * controlsOf returns the form's settings by name: a radio group's inputs,
 * or the one input or select. The upload zone's own fields are not settings.
 * @param {HTMLFormElement} form
 * @returns {Map<string, HTMLInputElement[] | HTMLInputElement | HTMLSelectElement>}
 */
export function controlsOf(form) {
  const out = new Map();
  for (const f of form.elements) {
    if (!f.name || f.type === 'file' || f.closest('[data-testid="upload-zone"]') || f.dataset.teacher) continue;
    if (f.type === 'radio') {
      if (!out.has(f.name)) out.set(f.name, []);
      out.get(f.name).push(f);
    } else if (f.tagName === 'INPUT' || f.tagName === 'SELECT') {
      out.set(f.name, f);
    }
  }
  return out;
}

/** listParam splits a comma-separated parameter into names. */
export function listParam(params, name) {
  return (params.get(name) || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * applyPreset sets the form from params and hides and locks what they say.
 * It returns the notices to show (one sentence each); validate(form) is
 * called after the values are set, for checks across fields.
 * @param {HTMLFormElement} form
 * @param {URLSearchParams} params
 * @param {(form: HTMLFormElement) => void} [validate]
 * @returns {string[]}
 */
export function applyPreset(form, params, validate = () => {}) {
  const controls = controlsOf(form);
  const notices = [];
  const set = [];
  for (const [name, value] of params) {
    if (CONTROL_PARAMS.includes(name)) continue;
    const c = controls.get(name);
    if (!c) {
      notices.push(`The link sets “${clip(name)}”, which this form does not have: ignored.`);
      continue;
    }
    if (Array.isArray(c)) {
      const r = c.find((x) => x.value === value);
      if (!r) {
        const now = c.find((x) => x.checked);
        notices.push(`The link asks for ${name} “${clip(value)}”, which is not offered here${now ? `: kept “${now.value}”` : ''}.`);
        continue;
      }
      r.checked = true;
      set.push(r);
    } else if (c.tagName === 'SELECT') {
      if (![...c.options].some((o) => o.value === value)) {
        notices.push(`The link asks for ${name} “${clip(value)}”, which is not one of the choices: kept “${c.value || 'the default'}”.`);
        continue;
      }
      c.value = value;
      set.push(c);
    } else {
      const before = c.value;
      c.value = value;
      // The input's own constraints (range, step, pattern) judge the value;
      // a number input that cannot parse it reads as empty.
      const unparsed = c.type === 'number' && value.trim() !== '' && c.value === '';
      if (unparsed || !c.checkValidity()) {
        const why = unparsed ? 'not a number' : invalidity(c);
        c.value = before;
        notices.push(`The link sets ${name} to “${clip(value)}”, which is ${why}: kept ${before === '' ? 'the default' : `“${before}”`}.`);
        continue;
      }
      set.push(c);
    }
  }
  // The page reacts to these as to a learner's changes, except where a
  // change would choose another (e.g. a dataset its pairs): the link says.
  form.dataset.presetting = '1';
  for (const f of set) f.dispatchEvent(new Event('input', { bubbles: true }));
  delete form.dataset.presetting;
  validate(form);
  // Checks across fields (e.g. warm-up within the epochs): a value that
  // breaks one goes back to the default.
  for (const f of set) {
    if (f.type !== 'radio' && f.tagName === 'INPUT' && !f.checkValidity()) {
      notices.push(`The link sets ${f.name} to “${clip(f.value)}”: ${f.validationMessage}; kept the default.`);
      f.value = f.defaultValue;
      f.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }
  for (const [param, act] of [
    ['hide', hide],
    ['lock', lock],
  ]) {
    for (const name of listParam(params, param)) {
      const c = controls.get(name);
      if (!c) notices.push(`The link’s ${param}= names “${clip(name)}”, which this form does not have.`);
      else act(c);
    }
  }
  for (const fs of form.querySelectorAll('fieldset')) {
    // A group whose every control is hidden goes too.
    const fields = [...fs.querySelectorAll('.field, .choice, .dataset-card')];
    if (fields.length && fields.every((x) => x.hidden || x.closest('[hidden]') !== null)) fs.hidden = true;
  }
  return notices;
}

/** hide takes a control out of sight; its value still goes with the run. */
function hide(c) {
  if (Array.isArray(c)) {
    const fs = c[0].closest('fieldset');
    if (fs) fs.hidden = true;
    return;
  }
  const box = c.closest('.field');
  if (box) box.hidden = true;
}

/**
 * lock shows a control but keeps its value: the other choices of a radio
 * group or a select are disabled (the chosen one is still submitted), an
 * input is read-only.
 */
function lock(c) {
  const mark = (box) => {
    if (!box || box.querySelector(':scope > .locked-badge')) return;
    box.classList.add('locked');
    const badge = document.createElement('span');
    badge.className = 'locked-badge';
    badge.dataset.testid = 'locked-badge';
    badge.textContent = 'set by your teacher';
    const legend = box.querySelector(':scope > legend, :scope > label');
    if (legend) legend.append(' ', badge);
    else box.prepend(badge);
  };
  if (Array.isArray(c)) {
    for (const r of c) {
      if (!r.checked) r.disabled = true;
      r.dataset.locked = '1';
    }
    mark(c[0].closest('fieldset'));
    return;
  }
  c.dataset.locked = '1';
  if (c.tagName === 'SELECT') {
    for (const o of c.options) if (!o.selected) o.disabled = true;
  } else {
    c.readOnly = true;
  }
  c.setAttribute('aria-readonly', 'true');
  mark(c.closest('.field'));
}

/**
 * presetParams returns the query string of a run configuration (the POST
 * /api/runs body, or a run summary's config): every setting by name, lists
 * comma-separated, with the given hide and lock lists.
 * @param {Record<string, any>} cfg
 * @param {{hide?: string[], lock?: string[]}} [extra]
 */
export function presetParams(cfg, extra = {}) {
  const p = new URLSearchParams();
  for (const [name, v] of Object.entries(cfg)) {
    if (v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v))) continue;
    p.set(name, Array.isArray(v) ? v.join(',') : String(v));
  }
  for (const name of CONTROL_PARAMS) {
    const list = extra[name] || [];
    if (list.length) p.set(name, list.join(','));
  }
  return p;
}

/** presetURL is the home page's link for a configuration. */
export function presetURL(cfg, extra) {
  const q = presetParams(cfg, extra).toString();
  return `${location.origin}/${q ? `?${q}` : ''}`;
}

/**
 * offerLink shows url in output (an <output> or any element) and copies it
 * to the clipboard where the browser allows; it says which happened.
 */
export async function offerLink(output, url) {
  output.hidden = false;
  output.replaceChildren();
  const a = document.createElement('a');
  a.href = url;
  a.textContent = url;
  a.dataset.testid = 'setup-link-url';
  const note = document.createElement('span');
  note.className = 'setup-link-note';
  output.append(a, ' ', note);
  try {
    await navigator.clipboard.writeText(url);
    note.textContent = '(copied)';
  } catch {
    note.textContent = '(select and copy it)';
  }
}

/** invalidity says in a few words why an input refuses its value. */
function invalidity(c) {
  const v = c.validity;
  if (v.rangeOverflow) return `more than the most allowed, ${c.max}`;
  if (v.rangeUnderflow) return `less than the least allowed, ${c.min}`;
  if (v.stepMismatch) return c.step === '1' || c.step === '' ? 'not a whole number' : `not in steps of ${c.step}`;
  if (v.patternMismatch) return 'not in the expected form';
  return c.validationMessage || 'not valid here';
}

function clip(s) {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
