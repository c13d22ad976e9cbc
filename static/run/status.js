// The page's header messages: the connection status line and the error
// banner.

/**
 * createStatus returns {setConn, showError, clearError} for the page's
 * elements. kind is "ok", "warn" or "error". clearError leaves a failed
 * run's error up.
 * @param {import('./state.js').App} app
 */
export function createStatus({ ui, S }) {
  function setConn(text, kind) {
    ui.conn.textContent = text;
    ui.conn.dataset.kind = kind;
  }

  function showError(msg) {
    ui.error.textContent = msg;
    ui.error.hidden = false;
  }

  function clearError() {
    if (S.state !== 'failed') {
      ui.error.hidden = true;
      ui.error.textContent = '';
    }
  }

  return { setConn, showError, clearError };
}
