// Keys on the run page: space pauses or resumes, the arrows step through
// epochs, L follows live again, Escape clears the selection. Keys typed into
// fields and pressed with a modifier are left alone.

/**
 * bindKeys listens for the page's keys.
 * @param {import('./state.js').App} app
 * @param {{control: (action: string) => void, setConn: (text: string, kind: string) => void,
 *   stepView: (delta: number) => void, goLive: () => void, select: (i: number, add: boolean) => void}} deps
 */
export function bindKeys({ S, token }, { control, setConn, stepView, goLive, select }) {
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
        select(-1, false);
        break;
      default:
    }
  });
}
