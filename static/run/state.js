// The run page's state, shared by its modules, and what the run's config
// says about it.

const MARGIN_LOSSES = new Set(['contrastive', 'triplet']);

/**
 * App is the context the run page's modules share (see run.js):
 * @typedef {object} App
 * @property {HTMLElement} root the page's root element
 * @property {string} runID
 * @property {string} token the run's control token, '' for a watcher
 * @property {Object<string, HTMLElement>} ui the page's elements by role (page.js)
 * @property {ReturnType<typeof newState>} S
 * @property {import('./timings.js').Timings} timings
 * @property {import('../previews.js').Previews} previews replaced once the dataset is known
 * @property {import('../scatter.js').Scatter | null} scatter null when the browser cannot draw WebGL2
 * @property {ReturnType<typeof import('./map.js').createMap>} map the map's elements, setHint and start (map.js)
 * @property {() => void} reopen connects the run's stream again after done (connect.js; run.js sets it)
 * @property {(view: {method: string, dims: number} | null) => void} setView streams a projection of the page's own, or the run's (null; run.js sets it)
 */

/** newState returns the state of a page that has heard nothing yet. */
export function newState() {
  return {
    dataset: null,
    run: null,
    labels: [],
    splits: [],
    classNames: [],
    epochs: new Map(), // epoch -> {metrics, frame, coords, dims}
    order: [], // epoch numbers, ascending
    viewing: null,
    follow: true,
    isLive: false,
    playing: 0,
    speed: 2, // playback, epochs per second; 0 = as they come (timeline.js)
    shownLog: [], // epochs shown on the map, in order
    state: '',
    finished: false,
    hidden: new Set(),
    selected: [], // item indices; the last one is the focus
    focus: -1,
    near: null, // neighbours answer for the focus
    trails: false,
    hover: -1,
    lastPairs: 0,
    coordFloats: 0,
    precomputed: false,
    search: null, // {q, method, classes, results, items: Set, lit}; null when none
    reprojecting: null, // {method, dims} asked for and not yet seen in a frame
    ownView: null, // {method, dims} a watcher chose for this page alone; null: the run's
    streamView: null, // the projection the stream asks for: ownView unless viewLocked
    viewLocked: false, // following a presenter: the page shows the run's projection
  };
}

/** config returns the run's config, or {} before the run is known. */
export function config(S) {
  return (S.run && S.run.config) || {};
}

/** lossName returns the name of the run's loss, or ''. */
export function lossName(S) {
  return String(config(S).loss || '');
}

/** marginOf returns the margin of a margin loss, else null. */
export function marginOf(S) {
  const c = config(S);
  if (!MARGIN_LOSSES.has(lossName(S))) return null;
  const m = Number(c.margin);
  if (m > 0) return m;
  return lossName(S) === 'contrastive' ? 1.0 : 0.2; // the trainer's defaults
}

const METHOD_NAMES = { pca: 'PCA', tsne: 't-SNE', umap: 'UMAP' };

/** methodName returns how the page names a projection method ("t-SNE"). */
export function methodName(method) {
  return METHOD_NAMES[method] || String(method || '').toUpperCase();
}
