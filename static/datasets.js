// The home page's datasets: uploads (drag and drop or pick a file, sent to
// POST /api/datasets with upload progress), the card each upload becomes,
// removing uploads, and the marks on cards for synthetic data and for
// precomputed embeddings, which are explored rather than trained
// (docs/protocol.md, "Uploads and sessions" and "Page contract").

import { request } from './api.js';
import { el } from './run/dom.js';
import { columnsStep } from './upload-options.js';

const $ = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

// What the server knows of each dataset, by id: {precomputed, synthetic, ...}.
const known = new Map();

const KIND = {
  images: 'images',
  text: 'texts',
  interactions: 'interactions',
  vectors: 'vectors',
};

function count(n, what) {
  return `${Number(n || 0).toLocaleString('en')} ${what}`;
}

function mb(bytes) {
  return bytes < 1e6 ? `${Math.max(1, Math.round(bytes / 1e3))} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * enhanceUpload wires the upload zone of the home page (when the page has
 * one) to POST /api/datasets, and marks dataset cards.
 * @param {HTMLFormElement|null} form the train form holding the cards
 */
export function enhanceUpload(form) {
  markCards(form);
  const zone = $('upload-zone');
  if (!zone) return;
  const input = $('upload-input', zone);
  const status = $('upload-status', zone) || zone.appendChild(el('p', { 'data-testid': 'upload-status', role: 'status' }));
  const list = $('upload-list', zone) || zone.appendChild(el('ul', { 'data-testid': 'upload-list' }));
  const progress = el('progress', { class: 'upload-progress', 'data-testid': 'upload-progress', max: 1, value: 0, hidden: true });
  status.after(progress);

  // A projector metadata.tsv goes with its vectors: picked here first, or
  // dropped together with them.
  const metaInput = el('input', { type: 'file', accept: '.tsv,.txt', 'data-testid': 'upload-metadata' });
  const metaNote = el('label', { class: 'upload-metadata', title: 'Choose the metadata.tsv here first, then the vectors.tsv; or drop both files at once.' }, 'Embedding Projector metadata.tsv (choose it before the vectors.tsv)', metaInput);
  const grid = zone.querySelector('.upload-options-grid');
  if (grid) grid.append(metaNote);
  else list.before(metaNote);

  let busy = false;

  const setStatus = (text, kind) => {
    status.textContent = text;
    status.dataset.kind = kind;
  };

  const send = (files) => {
    if (busy) {
      setStatus('Wait for the current upload to finish.', 'warn');
      return;
    }
    let file = null;
    let metadata = metaInput.files && metaInput.files[0] ? metaInput.files[0] : null;
    if (files.length === 2) {
      const k = files.findIndex((f) => /metadata/i.test(f.name));
      if (k < 0) {
        setStatus('Drop one data file; a second file can only be the metadata.tsv of Embedding Projector vectors.', 'error');
        return;
      }
      metadata = files[k];
      file = files[1 - k];
    } else if (files.length === 1) {
      file = files[0];
    } else if (files.length > 2) {
      setStatus(`${files.length} files: drop one data file (and, for Embedding Projector vectors, its metadata.tsv).`, 'error');
      return;
    }
    if (!file) return;
    prepare(file, metadata);
  };

  // A table's columns may need a person's choice first; null is "not
  // now" (cancelled, or refused with its message shown).
  const prepare = async (file, metadata) => {
    busy = true;
    let extra = {};
    if (!metadata) {
      setStatus(`Reading the start of ${file.name}…`, 'busy');
      extra = await columnsStep(zone, file, setStatus).catch((err) => {
        setStatus(err.message, 'error');
        return null;
      });
    }
    if (extra === null) {
      busy = false;
      input.value = '';
      return;
    }
    upload(file, metadata, extra);
  };

  const upload = (file, metadata, extra) => {
    busy = true;
    zone.classList.add('busy');
    const fd = new FormData();
    // Options first: the server checks the file as it streams in.
    const options = {};
    for (const f of zone.querySelectorAll('input[name], select[name]')) {
      if (f.type === 'file' || f.disabled || f.value === '') continue;
      if ((f.type === 'checkbox' || f.type === 'radio') && !f.checked) continue;
      options[f.name] = f.value;
    }
    Object.assign(options, extra);
    for (const [name, value] of Object.entries(options)) fd.append(name, value);
    if (metadata) fd.append('metadata', metadata, metadata.name);
    fd.append('file', file, file.name);

    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/datasets');
    xhr.setRequestHeader('Accept', 'application/json');
    progress.hidden = false;
    progress.value = 0;
    setStatus(`Uploading ${file.name} (${mb(file.size)})…`, 'busy');
    xhr.upload.addEventListener('progress', (ev) => {
      if (!ev.lengthComputable || ev.total === 0) return;
      progress.value = ev.loaded / ev.total;
      setStatus(`Uploading ${file.name}: ${Math.floor((100 * ev.loaded) / ev.total)}% (${mb(ev.loaded)} of ${mb(ev.total)})`, 'busy');
    });
    // The server reads and checks the file as it arrives; the answer comes
    // once the last byte has been checked.
    xhr.upload.addEventListener('load', () => {
      progress.removeAttribute('value'); // indeterminate
      setStatus(`Checking ${file.name}…`, 'busy');
    });
    const finish = () => {
      busy = false;
      zone.classList.remove('busy');
      progress.hidden = true;
      input.value = '';
      metaInput.value = '';
    };
    xhr.addEventListener('load', () => {
      finish();
      let ans = null;
      try {
        ans = JSON.parse(xhr.responseText);
      } catch {
        ans = null;
      }
      if (xhr.status !== 201 && xhr.status !== 200) {
        const msg = (ans && ans.error) || `upload failed: ${xhr.status} ${xhr.statusText}`;
        setStatus(msg, 'error');
        return;
      }
      added(ans, file);
    });
    xhr.addEventListener('error', () => {
      finish();
      setStatus('Cannot reach the server: check the connection and try again.', 'error');
    });
    xhr.addEventListener('abort', () => {
      finish();
      setStatus('Upload cancelled.', 'warn');
    });
    xhr.send(fd);
  };

  const added = (d, file) => {
    const id = d.id || d.name;
    known.set(id, d);
    addListEntry(list, d, form, setStatus);
    const card = addCard(form, d);
    if (card) {
      const radio = card.querySelector('input[type="radio"]');
      radio.checked = true;
      radio.dispatchEvent(new Event('input', { bubbles: true }));
      radio.dispatchEvent(new Event('change', { bubbles: true }));
      card.scrollIntoView({ block: 'nearest' });
    }
    const what = [count(d.items, 'items')];
    if (d.classes > 0) what.push(count(d.classes, d.classes === 1 ? 'class' : 'classes'));
    if (KIND[d.kind]) what.push(KIND[d.kind]);
    const next = d.precomputed ? 'Press Explore to see them.' : 'Press Train to start.';
    setStatus(`${file.name}: ${what.join(', ')}. Selected. ${next}`, 'ok');
  };

  if (input) {
    input.addEventListener('change', () => send([...input.files]));
  }
  // A file dropped anywhere on the page is an upload: dropped outside the
  // zone, the browser would otherwise open it and lose the form.
  let depth = 0;
  const hasFiles = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes('Files');
  window.addEventListener('dragenter', (ev) => {
    if (!hasFiles(ev)) return;
    depth++;
    zone.classList.add('dragging');
  });
  window.addEventListener('dragleave', (ev) => {
    if (!hasFiles(ev)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('dragging');
  });
  window.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('drop', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    send([...ev.dataTransfer.files]);
  });

  for (const li of list.querySelectorAll('li[data-dataset]')) addRemoveButton(li, form, setStatus);
}

/** addListEntry lists a new upload in the zone's list. */
function addListEntry(list, d, form, setStatus) {
  const id = d.id || d.name;
  const old = list.querySelector(`li[data-dataset="${CSS.escape(id)}"]`);
  if (old) old.remove();
  const parts = [count(d.items, 'items')];
  if (KIND[d.kind]) parts.push(KIND[d.kind]);
  if (d.precomputed) parts.push('precomputed embeddings');
  const li = el('li', { 'data-dataset': id }, el('strong', { text: d.title || d.name }), ` · ${parts.join(' · ')} `);
  list.append(li);
  addRemoveButton(li, form, setStatus);
}

/** addRemoveButton lets the learner delete one of their uploads. */
function addRemoveButton(li, form, setStatus) {
  if (li.querySelector('.upload-remove')) return;
  const id = li.dataset.dataset;
  const button = el('button', { type: 'button', class: 'upload-remove', text: 'Remove', title: 'Delete this upload from the server' });
  // Removing deletes the file on the server: the first press asks.
  let armed = 0;
  button.addEventListener('click', async () => {
    if (Date.now() - armed > 5000) {
      armed = Date.now();
      button.textContent = 'Remove for good?';
      button.classList.add('armed');
      setTimeout(() => {
        if (Date.now() - armed >= 5000) {
          button.textContent = 'Remove';
          button.classList.remove('armed');
        }
      }, 5000);
      return;
    }
    button.disabled = true;
    try {
      await request('DELETE', `/api/datasets/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err.status !== 404) {
        button.disabled = false;
        setStatus(err.message, 'error');
        return;
      }
    }
    known.delete(id);
    li.remove();
    const card = form && form.querySelector(`[data-testid="dataset-card"][data-dataset="${CSS.escape(id)}"]`);
    if (card) {
      const wasChecked = card.querySelector('input:checked') !== null;
      card.remove();
      const first = form.querySelector('[data-testid="dataset-card"] input[type="radio"]');
      if (wasChecked && first) {
        first.checked = true;
        first.dispatchEvent(new Event('input', { bubbles: true }));
        first.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }
    setStatus('Upload removed.', 'ok');
  });
  li.append(button);
}

/**
 * addCard adds a dataset card for an upload, shaped like the
 * server-rendered ones, and returns it.
 */
function addCard(form, d) {
  if (!form) return null;
  const id = d.id || d.name;
  const old = form.querySelector(`[data-testid="dataset-card"][data-dataset="${CSS.escape(id)}"]`);
  if (old) return old;
  const first = form.querySelector('[data-testid="dataset-card"]');
  const holder = first ? first.parentElement : form;
  const size = [`${count(d.items, 'items')} (${count(d.train, 'train')}, ${count(d.test, 'held out')})`];
  if (d.classes > 0) size.push(count(d.classes, 'classes'));
  if (d.width > 0 && d.height > 0) size.push(`${d.width}×${d.height} pixels`);
  const card = el(
    'label',
    {
      class: 'dataset-card',
      'data-testid': 'dataset-card',
      'data-dataset': id,
      'data-defaults': JSON.stringify(d.defaults || {}),
      'data-unusable': JSON.stringify(d.unusable_pairs || {}),
    },
    el('input', { type: 'radio', name: 'dataset', value: id }),
    d.preview_url ? el('img', { class: 'dataset-preview', 'data-testid': 'dataset-preview', src: d.preview_url, alt: `Sample items of ${d.title || d.name}` }) : null,
    el(
      'span',
      { class: 'dataset-text' },
      el('span', { class: 'dataset-head' }, el('span', { class: 'dataset-title', text: d.title || d.name })),
      el('span', { class: 'dataset-size', text: size.join(' · ') }),
      el('span', { class: 'dataset-description', text: describe(d) }),
      el('span', { class: 'dataset-source', text: `Uploaded from ${d.name || 'a file'}; only this browser session can train on it.` }),
    ),
  );
  holder.append(card);
  markCard(card, { ...d, uploaded: true });
  return card;
}

function describe(d) {
  if (d.precomputed) return 'Your embeddings, explored as they are: no training.';
  const kind = KIND[d.kind] || 'items';
  return `Your upload: ${kind}${d.classes > 0 ? ' with labels' : ', no labels'}.`;
}

/**
 * markCard badges synthetic, uploaded and precomputed datasets on their
 * card, where the server has not already.
 */
function markCard(card, d) {
  if (!card) return;
  const title = card.querySelector('.dataset-title');
  const badges = [];
  const badge = (testid, text) => {
    if (!$(testid, card)) badges.push(el('span', { class: `dataset-badge ${testid}`, 'data-testid': testid, text }));
  };
  if (d.synthetic) badge('dataset-synthetic', 'synthetic data');
  if (d.uploaded) badge('dataset-uploaded', 'your upload');
  if (d.precomputed) badge('dataset-precomputed', 'precomputed embeddings');
  if (badges.length === 0) return;
  if (title) title.after(...badges);
  else card.append(...badges);
}

/**
 * markCards learns which datasets are synthetic or precomputed from
 * GET /api/datasets, badges their cards, and says, when a precomputed one
 * is chosen, that it will be explored, not trained.
 */
async function markCards(form) {
  if (!form) return;
  const hint = el('p', {
    class: 'precomputed-hint',
    'data-testid': 'precomputed-hint',
    hidden: true,
    text: 'Precomputed embeddings: exploring, not training. The explorer shows your vectors as they are; the loss, pair and training settings above are ignored (only the projection counts).',
  });
  const button = $('train-button', form);
  if (button) button.before(hint);
  const label = button ? button.textContent : '';
  const update = () => {
    const chosen = form.elements.namedItem('dataset');
    const d = chosen && known.get(chosen.value);
    const pre = !!(d && d.precomputed);
    hint.hidden = !pre;
    form.dataset.precomputed = String(pre);
    if (button && !button.disabled) button.textContent = pre ? 'Explore' : label;
  };
  form.addEventListener('change', (ev) => {
    if (ev.target && ev.target.name === 'dataset') update();
  });
  try {
    const all = await request('GET', '/api/datasets');
    for (const d of all || []) {
      const id = d.id || d.name;
      known.set(id, d);
      markCard(form.querySelector(`[data-testid="dataset-card"][data-dataset="${CSS.escape(id)}"]`), d);
    }
  } catch {
    // The badges are a nicety: the form works without them.
  }
  update();
}
