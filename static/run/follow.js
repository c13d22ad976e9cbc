// Presenting (docs/protocol.md, "Presenting") and the count of the pages
// that have the run open, which its owner sees. The run's owner can share
// what their page shows (the epoch, the camera, the selection, the classes
// hidden in the legend, the search) and every other page follows it, or
// looks around on its own. Views go up with POST /api/runs/{id}/view and
// come down on /ws/runs/{id}/follow, which stays open after the run is done.

import { request } from '../api.js';
import { GLIDE_MS } from './timeline.js';
import { setHiddenClasses } from './dataset.js';

const WATCH_MS = 50; // how often the presenter's page looks for a change
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

/**
 * createFollow wires the present and follow controls.
 * @param {import('./state.js').App} app
 * @param {object} deps
 * @param {ReturnType<typeof import('./timeline.js').createTimeline>} deps.timeline
 * @param {ReturnType<typeof import('./selection.js').createSelection>} deps.selection
 * @param {ReturnType<typeof import('./search.js').createSearch>} deps.search
 * @param {ReturnType<typeof import('./controls.js').createControls>} deps.controls
 */
export function createFollow(app, { timeline, selection, search, controls }) {
  const { S, root, runID, token } = app;
  const presentButton = root.querySelector('[data-testid="present-toggle"]');
  const followButton = root.querySelector('[data-testid="follow-toggle"]');
  const banner = root.querySelector('[data-testid="presenting-banner"]');
  const state = {
    presenting: false, // this page presents
    followed: null, // the presenter's newest view, when someone presents
    following: true, // this page follows the presenter (when there is one)
    applied: 0, // seq of the last view applied
    appliedAt: null, // Date.now() when the last view was applied
    pendingEpoch: null, // an epoch the presenter shows that this page lacks yet
  };

  // --- Presenting (the owner) ---
  let last = '';
  let watcher = 0;
  let sending = false;
  let again = false;

  function viewNow() {
    return {
      present: true,
      epoch: S.follow ? null : S.viewing,
      camera: app.scatter ? app.scatter.camera() : undefined,
      selected: S.selected.slice(0, 16),
      hidden: [...S.hidden].filter((k) => k >= 0),
      search: search.query(),
    };
  }

  async function send(view) {
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    try {
      await request('POST', `/api/runs/${encodeURIComponent(runID)}/view`, { token, body: view });
    } catch (err) {
      if (banner) {
        banner.textContent = `Presenting: the class did not get the last change (${err.message})`;
        banner.hidden = false;
      }
    } finally {
      sending = false;
      if (again) {
        again = false;
        if (state.presenting) send(viewNow());
      }
    }
  }

  function watch() {
    const v = viewNow();
    const key = JSON.stringify(v);
    if (key === last) return;
    last = key;
    send(v);
  }

  function setPresenting(on) {
    state.presenting = on;
    clearInterval(watcher);
    watcher = 0;
    last = '';
    if (on) {
      watch();
      watcher = setInterval(watch, WATCH_MS);
    } else {
      send({ present: false });
    }
    if (presentButton) {
      presentButton.textContent = on ? 'Stop presenting' : 'Present to the class';
      presentButton.setAttribute('aria-pressed', String(on));
    }
    if (banner) {
      banner.textContent = on ? 'Presenting: every page that follows shows what you show.' : '';
      banner.hidden = !on;
    }
  }

  if (presentButton) {
    presentButton.hidden = !token;
    presentButton.addEventListener('click', () => setPresenting(!state.presenting));
  }

  // --- Following (everyone else) ---
  function apply(v) {
    if (!v || !v.present || !state.following || state.presenting) return;
    if (v.epoch == null) {
      state.pendingEpoch = null;
      if (!S.follow || S.viewing == null) timeline.goLive();
    } else if (S.epochs.has(v.epoch)) {
      state.pendingEpoch = null;
      if (S.viewing !== v.epoch || S.follow) {
        S.follow = false;
        timeline.show(v.epoch, GLIDE_MS);
      }
    } else {
      state.pendingEpoch = v.epoch; // applied when it arrives
    }
    if (app.scatter && v.camera) app.scatter.setCamera(v.camera);
    const sel = v.selected || [];
    if (sel.join() !== S.selected.join()) {
      if (sel.length === 0) selection.select(-1, false);
      else sel.forEach((i, k) => selection.select(i, k > 0));
    }
    const hidden = v.hidden || [];
    if (hidden.join() !== [...S.hidden].join()) setHiddenClasses(app, hidden);
    search.setQuery(v.search || '');
    if (v.seq > state.applied) {
      state.applied = v.seq;
      state.appliedAt = Date.now();
    }
  }

  function showFollowing() {
    const someone = state.followed && state.followed.present && !state.presenting;
    if (followButton) {
      followButton.hidden = !someone;
      followButton.textContent = state.following ? 'Look around on my own' : 'Follow the presenter';
      followButton.setAttribute('aria-pressed', String(!state.following));
    }
    if (banner && !state.presenting) {
      banner.textContent = someone ? (state.following ? 'Following the presenter.' : 'Looking around on your own; the presenter goes on.') : '';
      banner.hidden = !someone;
    }
    // A follower sees the presenter's projection, not one of their own.
    controls.setLocked(!!someone && state.following);
  }

  function setFollowing(on) {
    state.following = on;
    showFollowing();
    if (on) apply(state.followed);
  }

  if (followButton) followButton.addEventListener('click', () => setFollowing(!state.following));

  /** moved: the learner moved the map themselves, so they look around. */
  function moved() {
    if (state.followed && state.followed.present && state.following && !state.presenting) setFollowing(false);
  }

  /** epochArrived applies a view whose epoch this page did not have yet. */
  function epochArrived(e) {
    if (state.pendingEpoch === e) apply(state.followed);
  }

  // The owner sees how many pages have the run open (this one included).
  const viewerCount = root.querySelector('[data-testid="viewer-count"]');
  function showViewers(n) {
    if (!viewerCount || !token || !Number.isInteger(n)) return;
    viewerCount.textContent = `${n} watching`;
    viewerCount.title = 'Pages with this run open, this one included';
    viewerCount.hidden = false;
  }

  // The follow stream, reconnecting with backoff.
  let failures = 0;
  let ws = null;
  let closed = false;
  function connect() {
    const url = new URL(`/ws/runs/${encodeURIComponent(runID)}/follow`, location.href).href.replace(/^http/, 'ws');
    let sock;
    try {
      sock = new WebSocket(url);
    } catch {
      return;
    }
    ws = sock;
    sock.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let v;
      try {
        v = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (v.type === 'viewers') {
        showViewers(v.viewers);
        return;
      }
      if (v.type !== 'view') return;
      failures = 0;
      if (state.followed && v.seq <= state.followed.seq && v.present === state.followed.present) return;
      const wasPresenting = state.followed && state.followed.present;
      state.followed = v;
      // Someone starts presenting: follow them (unless told otherwise).
      if (v.present && !wasPresenting) state.following = true;
      showFollowing();
      apply(v);
    };
    sock.onclose = () => {
      if (ws !== sock || closed) return;
      ws = null;
      const wait = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)];
      setTimeout(() => {
        if (!closed) connect();
      }, wait);
    };
  }
  connect();
  window.addEventListener('pagehide', () => {
    closed = true;
    if (ws) ws.close(1000, 'bye');
    if (state.presenting) send({ present: false });
  });

  showFollowing();
  /** changed: the view may have changed; a presenter sends it at once. */
  function changed() {
    if (state.presenting) watch();
  }

  return {
    changed,
    moved,
    epochArrived,
    snapshot: () => ({
      presenting: state.presenting,
      followed: !!(state.followed && state.followed.present),
      following: state.following,
      applied: state.applied,
      appliedAt: state.appliedAt,
    }),
  };
}
