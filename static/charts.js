// Small live charts drawn on canvas 2D: metric lines over epochs and the
// histograms of positive- and negative-pair distances. Titles and legends
// are HTML (crisp, readable and selectable); plots are canvas.

const INK = '#1a1a1a';
const GRID = 'rgba(0,0,0,0.10)';
const FONT = '14px system-ui, sans-serif';

/** niceTicks returns about count round numbers spanning [lo, hi]. */
export function niceTicks(lo, hi, count = 4) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  if (a >= 10) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1).replace(/\.0$/, '');
  return v.toFixed(2).replace(/0$/, '');
}

/**
 * Chart draws into a canvas the page provides. Its legend and current value
 * go into the canvas's <figure> (or its parent) when there is one.
 */
class Chart {
  constructor(canvas) {
    this.canvas = canvas;
    const holder = canvas.closest('figure') || canvas.parentElement;
    this.legend = document.createElement('div');
    this.legend.className = 'chart-legend';
    this.value = document.createElement('span');
    this.value.className = 'chart-value';
    this.legend.append(this.value);
    if (holder) holder.insertBefore(this.legend, canvas);
    this.ctx = canvas.getContext('2d');
    this.pending = false;
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  addLegend(name, colour, dashed) {
    const item = document.createElement('span');
    item.className = 'legend-key';
    const sw = document.createElement('span');
    sw.className = dashed ? 'swatch dashed' : 'swatch';
    sw.style.borderColor = colour;
    sw.style.background = dashed ? 'transparent' : colour;
    const t = document.createElement('span');
    t.textContent = name;
    item.append(sw, t);
    this.legend.append(item);
  }

  /** redraw schedules a draw on the next animation frame. */
  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.size();
      this.draw();
    });
  }

  size() {
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    const r = this.canvas.getBoundingClientRect();
    this.w = Math.max(1, r.width);
    this.h = Math.max(1, r.height);
    const W = Math.round(this.w * dpr);
    const H = Math.round(this.h * dpr);
    if (this.canvas.width !== W || this.canvas.height !== H) {
      this.canvas.width = W;
      this.canvas.height = H;
    }
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.ctx.clearRect(0, 0, this.w, this.h);
  }

  axes(x0, x1, y0, y1, xTicks, yTicks, xLabel) {
    const ctx = this.ctx;
    const L = 48;
    const R = 10;
    const T = 8;
    const B = xLabel ? 42 : 26;
    const pw = Math.max(1, this.w - L - R);
    const ph = Math.max(1, this.h - T - B);
    const X = (v) => L + ((v - x0) / (x1 - x0 || 1)) * pw;
    const Y = (v) => T + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
    ctx.font = FONT;
    ctx.fillStyle = INK;
    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of yTicks) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(L, y);
      ctx.lineTo(L + pw, y);
      ctx.stroke();
      ctx.fillText(fmt(v), L - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const v of xTicks) {
      // A label at an edge stays inside the canvas.
      const text = fmt(v);
      const half = ctx.measureText(text).width / 2;
      const x = Math.min(Math.max(X(v), half + 1), this.w - half - 1);
      ctx.fillText(text, x, T + ph + 5);
    }
    if (xLabel) {
      ctx.fillStyle = '#555';
      ctx.fillText(xLabel, L + pw / 2, T + ph + 23);
    }
    ctx.strokeStyle = '#888';
    ctx.beginPath();
    ctx.moveTo(L + 0.5, T);
    ctx.lineTo(L + 0.5, T + ph + 0.5);
    ctx.lineTo(L + pw, T + ph + 0.5);
    ctx.stroke();
    return { X, Y, L, T, pw, ph };
  }
}

/**
 * LineChart plots metrics over epochs. series: [{name, colour, dash, get}]
 * where get(metrics) returns the value or undefined.
 */
export class LineChart extends Chart {
  constructor(canvas, series, { fixed } = {}) {
    super(canvas);
    this.series = series;
    this.fixed = fixed; // optional [lo, hi] y range, e.g. [0, 1] for accuracy
    this.data = [];
    this.marker = null;
    for (const s of series) this.addLegend(s.name, s.colour, !!s.dash);
  }

  /** setSeries replaces what the chart plots, and its legend. */
  setSeries(series, { fixed } = {}) {
    this.series = series;
    this.fixed = fixed;
    for (const k of [...this.legend.querySelectorAll('.legend-key')]) k.remove();
    for (const s of series) this.addLegend(s.name, s.colour, !!s.dash);
    this.redraw();
  }

  /** set gives the chart its points: [{epoch, metrics}], oldest first. */
  set(data, marker) {
    this.data = data;
    this.marker = marker;
    const at = data.find((d) => d.epoch === marker) || data[data.length - 1];
    const first = this.series[0];
    const v = at && at.metrics ? first.get(at.metrics) : undefined;
    this.value.textContent = Number.isFinite(v) ? fmt(v) : '';
    this.value.style.color = first.colour;
    this.redraw();
  }

  draw() {
    const ctx = this.ctx;
    const pts = this.series.map((s) =>
      this.data
        .map((d) => [d.epoch, d.metrics ? s.get(d.metrics) : undefined])
        .filter((p) => Number.isFinite(p[1])),
    );
    const all = pts.flat();
    if (all.length === 0) {
      ctx.font = FONT;
      ctx.fillStyle = '#777';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('waiting for the first epoch…', this.w / 2, this.h / 2);
      return;
    }
    let x0 = Math.min(...all.map((p) => p[0]));
    let x1 = Math.max(...all.map((p) => p[0]));
    if (x1 === x0) x1 = x0 + 1;
    let [y0, y1] = this.fixed || [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
    if (!this.fixed) {
      const pad = (y1 - y0) * 0.08 || Math.abs(y0) * 0.1 || 0.1;
      y0 -= pad;
      y1 += pad;
    }
    const yt = niceTicks(y0, y1, 3).filter((v) => v >= y0 && v <= y1);
    const xt = niceTicks(x0, x1, 4).filter((v) => Number.isInteger(v) && v >= x0 && v <= x1);
    const { X, Y, T, ph } = this.axes(x0, x1, y0, y1, xt, yt);
    if (this.marker != null && this.marker >= x0 && this.marker <= x1) {
      ctx.strokeStyle = 'rgba(0,0,0,0.35)';
      ctx.setLineDash([2, 3]);
      ctx.beginPath();
      ctx.moveTo(X(this.marker), T);
      ctx.lineTo(X(this.marker), T + ph);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    this.series.forEach((s, k) => {
      const p = pts[k];
      if (p.length === 0) return;
      ctx.strokeStyle = s.colour;
      ctx.fillStyle = s.colour;
      ctx.lineWidth = 3;
      ctx.setLineDash(s.dash ? [8, 6] : []);
      ctx.beginPath();
      p.forEach(([e, v], j) => (j ? ctx.lineTo(X(e), Y(v)) : ctx.moveTo(X(e), Y(v))));
      ctx.stroke();
      ctx.setLineDash([]);
      const m = p.find((q) => q[0] === this.marker) || (p.length === 1 ? p[0] : null);
      if (m) {
        ctx.beginPath();
        ctx.arc(X(m[0]), Y(m[1]), 4.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
  }
}

/**
 * HistChart overlays the distance histograms of positive and negative pairs,
 * each scaled to its own total so their shapes compare though negatives far
 * outnumber positives.
 */
export class HistChart extends Chart {
  constructor(canvas, pos, neg) {
    super(canvas);
    this.pos = pos;
    this.neg = neg;
    this.addLegend('positive pairs', pos, false);
    this.addLegend('negative pairs', neg, false);
    this.metrics = null;
    this.margin = null;
  }

  /** set shows one epoch's histograms; margin draws a line when given. */
  set(metrics, margin) {
    this.metrics = metrics;
    this.margin = margin;
    this.value.textContent =
      metrics && Number.isFinite(metrics.pos_distance) && Number.isFinite(metrics.neg_distance)
        ? `means ${fmt(metrics.pos_distance)} and ${fmt(metrics.neg_distance)}`
        : '';
    this.redraw();
  }

  draw() {
    const m = this.metrics;
    const ctx = this.ctx;
    const pos = (m && m.pos_hist) || [];
    const neg = (m && m.neg_hist) || [];
    const bins = Math.max(pos.length, neg.length);
    if (!m || bins === 0 || !(m.hist_max > 0)) {
      ctx.font = FONT;
      ctx.fillStyle = '#777';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('waiting for the first epoch…', this.w / 2, this.h / 2);
      return;
    }
    const norm = (h) => {
      const s = h.reduce((a, b) => a + b, 0) || 1;
      return h.map((v) => v / s);
    };
    const P = norm(pos);
    const N = norm(neg);
    const ymax = Math.max(...P, ...N, 1e-9) * 1.1;
    const xmax = m.hist_max;
    const xt = niceTicks(0, xmax, 4).filter((v) => v <= xmax);
    const yt = niceTicks(0, ymax, 2).filter((v) => v <= ymax);
    const { X, Y, T, ph } = this.axes(0, xmax, 0, ymax, xt, yt, 'distance in embedding space');
    const w = xmax / bins;
    const area = (h, colour) => {
      if (h.length === 0) return;
      ctx.beginPath();
      ctx.moveTo(X(0), Y(0));
      h.forEach((v, b) => {
        ctx.lineTo(X(b * w), Y(v));
        ctx.lineTo(X((b + 1) * w), Y(v));
      });
      ctx.lineTo(X(h.length * w), Y(0));
      ctx.closePath();
      ctx.globalAlpha = 0.3;
      ctx.fillStyle = colour;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2.5;
      ctx.stroke();
    };
    area(N, this.neg);
    area(P, this.pos);
    if (Number.isFinite(this.margin) && this.margin > 0 && this.margin <= xmax) {
      ctx.strokeStyle = INK;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(X(this.margin), T);
      ctx.lineTo(X(this.margin), T + ph);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = INK;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'top';
      ctx.fillText('margin', X(this.margin) + 4, T + 2);
    }
  }
}
