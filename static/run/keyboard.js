// Keys on the run page: space pauses or resumes, the arrows step through
// epochs, L follows live again, Escape clears the selection (or closes the
// key list), ? lists the keys. Keys typed into fields and pressed with a
// modifier (Shift apart, which ? needs) are left alone.

// KEYS are what the ? list shows.
const KEYS = [
  ['Space', 'pause or resume training (the run’s owner)'],
  ['← →', 'previous or next epoch'],
  ['L', 'follow the live epoch again'],
  ['Click', 'select a point; Shift+click adds to the selection'],
  ['Drag', 'pan the map (3D: turn it); the wheel zooms'],
  ['Esc', 'clear the selection, or close this list'],
  ['?', 'show or hide this list'],
];

/** keyHelp toggles the list of keys, made on first use. */
function keyHelp(show) {
  let box = document.querySelector('[data-testid="key-help"]');
  if (!box) {
    if (show === false) return false;
    box = document.createElement('div');
    box.className = 'key-help';
    box.dataset.testid = 'key-help';
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-label', 'Keyboard shortcuts');
    const h = document.createElement('h2');
    h.textContent = 'Keys';
    const dl = document.createElement('dl');
    for (const [k, what] of KEYS) {
      const dt = document.createElement('dt');
      const kbd = document.createElement('kbd');
      kbd.textContent = k;
      dt.append(kbd);
      const dd = document.createElement('dd');
      dd.textContent = what;
      dl.append(dt, dd);
    }
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = 'Close';
    close.addEventListener('click', () => keyHelp(false));
    box.append(h, dl, close);
    box.hidden = true;
    document.body.append(box);
  }
  const open = show === undefined ? box.hidden : show;
  box.hidden = !open;
  return open;
}

/**
 * bindKeys listens for the page's keys.
 * @param {import('./state.js').App} app
 * @param {{control: (action: string) => void, setConn: (text: string, kind: string) => void,
 *   stepView: (delta: number) => void, goLive: () => void, select: (i: number, add: boolean) => void}} deps
 */
export function bindKeys({ S, token }, { control, setConn, stepView, goLive, select }) {
  document.querySelector('[data-testid="key-help-button"]')?.addEventListener('click', () => keyHelp());
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
    const onButton = t && t.tagName === 'BUTTON';
    switch (ev.key) {
      case ' ':
        if (onButton) return; // the focused button's own click
        ev.preventDefault();
        if (!token) {
          setConn("watching: only the run's owner can pause it", 'warn');
          return;
        }
        if (S.state === 'running') control('pause');
        else if (S.state === 'paused') control('resume');
        break;
      case 'ArrowLeft':
        ev.preventDefault();
        stepView(-1);
        break;
      case 'ArrowRight':
        ev.preventDefault();
        stepView(1);
        break;
      case 'l':
      case 'L':
        goLive();
        break;
      case 'Escape':
        if (!keyHelp(false)) select(-1, false);
        break;
      case '?':
        ev.preventDefault();
        keyHelp();
        break;
      default:
    }
  });
}
