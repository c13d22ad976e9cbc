// The epochs heard so far, kept for the timeline: each epoch's metrics,
// frame and coordinates, in S.epochs and, ascending, S.order.

// Coordinates kept for the timeline, in float32 values (256 MB). Past it,
// every other old epoch loses its coordinates (keeping its metrics): a long
// run on 70,000 points would otherwise exhaust a classroom laptop.
const COORD_BUDGET = 64 << 20;
const KEEP_NEWEST = 20; // epochs never thinned

/** addEpoch adds or replaces an epoch ({epoch, metrics, frame, coords, dims}). */
export function addEpoch(S, ev) {
  const old = S.epochs.get(ev.epoch);
  if (old && old.coords) S.coordFloats -= old.coords.length;
  S.coordFloats += ev.coords.length;
  S.epochs.set(ev.epoch, {
    metrics: ev.metrics || (old && old.metrics) || null,
    frame: ev.frame || (old && old.frame) || null,
    coords: ev.coords,
    dims: ev.dims,
  });
  if (!old) {
    let i = S.order.length;
    while (i > 0 && S.order[i - 1] > ev.epoch) i--;
    S.order.splice(i, 0, ev.epoch);
  }
  if (S.coordFloats > COORD_BUDGET) thinHistory(S);
}

/** thinHistory drops the coordinates of every other older epoch. */
function thinHistory(S) {
  let keep = true;
  for (let k = 1; k < S.order.length - KEEP_NEWEST && S.coordFloats > COORD_BUDGET * 0.75; k++) {
    const e = S.epochs.get(S.order[k]);
    if (!e.coords || S.order[k] === S.viewing) continue;
    keep = !keep;
    if (!keep) {
      S.coordFloats -= e.coords.length;
      e.coords = null;
    }
  }
}

/** coordsOf returns the coordinates shown for an epoch: its own or, when
 * thinned, the nearest earlier epoch's. */
export function coordsOf(S, epoch) {
  let k = S.order.indexOf(epoch);
  while (k >= 0) {
    const e = S.epochs.get(S.order[k]);
    if (e.coords) return e;
    k--;
  }
  return null;
}

/** newest returns the newest epoch heard, or null. */
export function newest(S) {
  return S.order.length ? S.order[S.order.length - 1] : null;
}
