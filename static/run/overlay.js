// The overlay drawn over the points on the 2D canvas: the waiting message
// before the first epoch, search results, trails of selected points, the
// focus's links to its positives and negatives, its margin and the rings of
// the selection and the hovered point.

import { POSITIVE, NEGATIVE, colourOf } from '../palette.js';
import { lossName, marginOf } from './state.js';
import { coordsOf } from './history.js';

const TRAIL_EPOCHS = 12;

/**
 * createOverlay returns the Scatter's overlay callback, draw(ctx, view),
 * which reads the page's state at each call.
 * @param {import('./state.js').App} app
 */
export function createOverlay({ S, ui }) {
  return function draw(ctx, view) {
    if (!view.everDrawn) {
      ctx.font = '22px system-ui, sans-serif';
      ctx.fillStyle = '#555';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      let msg = 'waiting for the first epoch…';
      if (S.state === 'queued') msg = `Queued, ${ui.queue.textContent}: training starts when another run finishes.`;
      const lines = wrap(ctx, msg, view.cssW * 0.85);
      lines.forEach((line, k) => ctx.fillText(line, view.cssW / 2, view.cssH / 2 + (k - (lines.length - 1) / 2) * 30));
      return;
    }
    const r = view.pointSize() / 2;
    drawSearch(ctx, view, S);
    if (S.trails) for (const i of S.selected) drawTrail(ctx, view, S, i);
    const f = S.focus;
    if (f >= 0) {
      const p = view.screenOf(f);
      const near = S.near && !S.near.error ? S.near : null;
      if (near) {
        const m = marginOf(S);
        if (m != null) drawMargin(ctx, view, p, near, m, lossName(S));
        ctx.lineWidth = 2.5;
        for (const [list, colour, dash] of [
          [near.negatives || [], NEGATIVE, [7, 5]],
          [near.positives || [], POSITIVE, []],
        ]) {
          ctx.strokeStyle = colour;
          ctx.setLineDash(dash);
          for (const n of list) {
            if (!view.visible(n.item)) continue;
            const q = view.screenOf(n.item);
            ctx.beginPath();
            ctx.moveTo(p.x, p.y);
            ctx.lineTo(q.x, q.y);
            ctx.stroke();
          }
        }
        ctx.setLineDash([]);
        ctx.lineWidth = 2;
        ctx.strokeStyle = '#111';
        for (const n of near.embedding || []) {
          const q = view.screenOf(n.item);
          ring(ctx, q.x, q.y, r + 3);
        }
      }
    }
    for (const i of S.selected) {
      const p = view.screenOf(i);
      haloRing(ctx, p.x, p.y, r + 6, 3, 0.9);
    }
    if (S.hover >= 0) {
      const p = view.screenOf(S.hover);
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#111';
      ring(ctx, p.x, p.y, r + 2);
    }
  };
}

/** wrap splits text into lines no wider than width in the context's font. */
function wrap(ctx, text, width) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function ring(ctx, x, y, radius) {
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, 2 * Math.PI);
  ctx.stroke();
}

/**
 * drawSearch draws the search results, enlarged and ringed. A class search
 * has lit up its whole class already: only its few most typical items get
 * rings, which would otherwise pile up in its middle.
 */
function drawSearch(ctx, view, S) {
  const sr = S.search;
  if (!sr || sr.results.length === 0) return;
  const byClass = sr.method === 'labels';
  const shown = byClass ? sr.results.slice(0, 5) : sr.results;
  const r = view.pointSize() * (byClass ? 0.5 : 0.85) + 2;
  for (let k = shown.length - 1; k >= 0; k--) {
    const i = shown[k].item;
    if (!view.visible(i)) continue;
    const p = view.screenOf(i);
    if (!byClass) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
      ctx.fillStyle = colourOf(S.labels[i]);
      ctx.fill();
    }
    haloRing(ctx, p.x, p.y, r + 2, 2, 0.95);
  }
}

/**
 * haloRing draws a dark ring of width w inside a white halo twice as wide
 * (of opacity alpha), visible on any colour.
 */
function haloRing(ctx, x, y, radius, w, alpha) {
  ctx.lineWidth = 2 * w;
  ctx.strokeStyle = `rgba(255,255,255,${alpha})`;
  ring(ctx, x, y, radius);
  ctx.lineWidth = w;
  ctx.strokeStyle = '#111';
  ring(ctx, x, y, radius);
}

/**
 * drawMargin draws the margin around the focus at p. The map is a
 * projection, so embedding distances become screen distances only
 * approximately: the scale is the median ratio of screen to embedding
 * distance over the focus's listed positives and negatives.
 */
function drawMargin(ctx, view, p, near, margin, loss) {
  const ratios = [];
  for (const n of [...(near.positives || []), ...(near.negatives || [])]) {
    // Tiny distances (a collapsed class) give no usable scale.
    if (!(n.distance > 0.05)) continue;
    const q = view.screenOf(n.item);
    ratios.push(Math.hypot(q.x - p.x, q.y - p.y) / n.distance);
  }
  if (ratios.length === 0) return;
  ratios.sort((a, b) => a - b);
  const scale = ratios[Math.floor(ratios.length / 2)];
  let radius = margin;
  if (loss === 'triplet') {
    // Triplet wants negatives beyond the positives' distance plus the margin.
    const pos = (near.positives || []).map((n) => n.distance).filter(Number.isFinite);
    if (pos.length) radius += pos.reduce((a, b) => a + b, 0) / pos.length;
  }
  ctx.save();
  ctx.setLineDash([4, 4]);
  ctx.lineWidth = 2;
  ctx.strokeStyle = 'rgba(0,0,0,0.6)';
  ctx.beginPath();
  ctx.arc(p.x, p.y, radius * scale, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.restore();
}

/** drawTrail draws item i's path over the last TRAIL_EPOCHS epochs shown. */
function drawTrail(ctx, view, S, i) {
  const idx = S.order.indexOf(S.viewing);
  if (idx < 1) return;
  const cur = coordsOf(S, S.viewing);
  if (!cur) return;
  const dims = cur.dims;
  const pts = [];
  for (let k = Math.max(0, idx - TRAIL_EPOCHS); k < idx; k++) {
    const e = S.epochs.get(S.order[k]);
    if (!e.coords || e.dims !== dims) continue;
    const c = e.coords;
    pts.push(view.project(c[i * dims], c[i * dims + 1], dims === 3 ? c[i * dims + 2] : 0));
  }
  pts.push(view.screenOf(i));
  // A dark line on a white halo reads on any class colour; dots mark epochs
  // and the line fades into the past.
  ctx.save();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const [colour, width] of [
    ['rgba(255,255,255,0.85)', 7],
    ['#111', 3],
  ]) {
    for (let k = 1; k < pts.length; k++) {
      ctx.globalAlpha = 0.3 + (0.7 * k) / pts.length;
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(pts[k - 1].x, pts[k - 1].y);
      ctx.lineTo(pts[k].x, pts[k].y);
      ctx.stroke();
    }
  }
  ctx.globalAlpha = 1;
  ctx.fillStyle = colourOf(S.labels[i]);
  ctx.strokeStyle = '#111';
  ctx.lineWidth = 1.5;
  for (let k = 0; k < pts.length - 1; k++) {
    ctx.beginPath();
    ctx.arc(pts[k].x, pts[k].y, 3.5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
  ctx.restore();
}
