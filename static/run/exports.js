// The run page's export menu (docs/protocol.md, "Exports"): the server
// renders a link per format; this makes per-epoch exports follow the
// epoch on the map, and downloads through fetch so that the page can say
// what is happening (the animation's frames as they are rendered) and
// show the server's message instead of saving it as a file.

import { request } from '../api.js';

const POLL_MS = 300;

/**
 * createExports wires the menu and returns {epochShown}, to call when the
 * map shows another epoch.
 * @param {import('./state.js').App} app
 */
export function createExports(app) {
  const { root, S } = app;
  const menu = root.querySelector('[data-testid="export-menu"]');
  if (!menu) return { epochShown() {} };
  const status = menu.querySelector('[data-testid="export-status"]');
  const links = [...menu.querySelectorAll('a[data-format]')];
  let busy = false;

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function hrefOf(a) {
    const u = new URL(a.getAttribute('href'), location.href);
    if (a.hasAttribute('data-per-epoch') && S.viewing != null) u.searchParams.set('epoch', String(S.viewing));
    else u.searchParams.delete('epoch');
    return u;
  }

  function epochShown() {
    for (const a of links) if (a.hasAttribute('data-per-epoch')) a.href = hrefOf(a).href;
  }

  async function download(a) {
    if (busy) {
      say('one export at a time: wait for the one under way');
      return;
    }
    busy = true;
    const u = hrefOf(a);
    const animation = a.dataset.format === 'animation.gif';
    const key = Math.random().toString(36).slice(2);
    let timer = 0;
    if (animation) {
      u.searchParams.set('progress', key);
      say('rendering the animation…');
      const poll = async () => {
        try {
          const p = await request('GET', `${new URL(a.getAttribute('href'), location.href).pathname}/progress?key=${key}`);
          if (p && p.total > 0 && p.done < p.total) say(`rendering the animation: frame ${p.done} of ${p.total}`);
        } catch {
          // The download itself says what went wrong.
        }
        if (busy) timer = setTimeout(poll, POLL_MS);
      };
      timer = setTimeout(poll, POLL_MS);
    } else {
      say(`preparing ${a.dataset.format}…`);
    }
    try {
      const res = await fetch(u);
      if (!res.ok) {
        let msg = `${res.status} ${res.statusText}`;
        try {
          msg = (await res.json()).error || msg;
        } catch {
          // Not JSON: the status says enough.
        }
        throw new Error(msg);
      }
      const blob = await res.blob();
      const name = (/filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '') || [])[1] || a.dataset.format;
      const url = URL.createObjectURL(blob);
      const save = document.createElement('a');
      save.href = url;
      save.download = name;
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      say(`saved ${name} (${(blob.size / 1e6).toFixed(blob.size < 1e5 ? 2 : 1)} MB)`);
    } catch (err) {
      say(`could not export ${a.dataset.format}: ${err.message}`);
    } finally {
      busy = false;
      clearTimeout(timer);
    }
  }

  for (const a of links) {
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      download(a);
    });
  }
  return { epochShown };
}
