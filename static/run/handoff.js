// Handing a run's control to another device (docs/protocol.md, "Handing
// over control"): the owner's "Control from another device" asks for a
// one-time link, shown as text to copy and as a QR code for a phone; the
// page that opens it (?handoff=CODE) claims the control token once and
// keeps it as the home page keeps the tokens of runs it started.

import { request, saveToken } from '../api.js';
import { el } from './dom.js';

/**
 * claimHandoff takes the control token a ?handoff= link hands on, before
 * the page reads the tokens it holds, and removes the spent code from the
 * address. It returns a message for the page when the link did not work.
 * @param {string} runID
 * @returns {Promise<string>}
 */
export async function claimHandoff(runID) {
  const url = new URL(location.href);
  const code = url.searchParams.get('handoff');
  if (!code || !runID) return '';
  url.searchParams.delete('handoff');
  history.replaceState(null, '', url);
  try {
    const ans = await request('POST', `/api/runs/${encodeURIComponent(runID)}/claim`, { body: { code } });
    saveToken(runID, ans.token);
    return '';
  } catch (err) {
    return err.message;
  }
}

/**
 * createHandoff adds the owner's "Control from another device" button to
 * the controls and the panel with the link and its QR code.
 * @param {import('./state.js').App} app
 */
export function createHandoff(app) {
  const { ui, runID, token } = app;
  if (!token || !ui.controls) return;
  const button = el('button', { type: 'button', class: 'handoff-toggle', 'data-testid': 'handoff-button', text: 'Control from another device' });
  const panel = el('div', { class: 'handoff-panel', 'data-testid': 'handoff-panel', hidden: true });
  button.addEventListener('click', async () => {
    if (!panel.hidden) {
      panel.hidden = true;
      return;
    }
    button.disabled = true;
    try {
      const ans = await request('POST', `/api/runs/${encodeURIComponent(runID)}/handoff`, { token });
      const link = el('input', { type: 'text', readOnly: true, value: ans.url, 'data-testid': 'handoff-link', 'aria-label': 'One-time link' });
      link.addEventListener('focus', () => link.select());
      const img = el('img', { src: ans.qr, alt: 'QR code of the one-time link', width: 160, height: 160, 'data-testid': 'handoff-qr' });
      panel.replaceChildren(
        el('p', { text: `Open this link on the other device (or scan the code) within ${Math.round(ans.expires_in / 60)} minutes: it gives that browser this run's controls, once. This browser keeps them too.` }),
        img,
        link,
      );
      panel.hidden = false;
    } catch (err) {
      panel.replaceChildren(el('p', { class: 'panel-error', text: err.message }));
      panel.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  ui.controls.append(button, panel);
}
