// Picking: which point is under the mouse. Points' screen positions go into a
// uniform grid (a spatial hash over the canvas), rebuilt only when the view or
// the positions change; a query looks at the few cells around the cursor.
// Building for 70,000 points takes a few milliseconds; a query, microseconds.

/** PickGrid indexes screen positions (CSS pixels) of points. */
export class PickGrid {
  constructor(cell = 16) {
    this.cell = cell;
    this.cols = 0;
    this.rows = 0;
    this.start = new Int32Array(1);
    this.items = new Int32Array(0);
    this.sx = new Float32Array(0);
    this.sy = new Float32Array(0);
    this.depth = new Float32Array(0);
  }

  /**
   * build indexes the points with visible[i] true; sx, sy are CSS pixels,
   * depth orders points in 3D (smaller is nearer). A counting sort: two
   * passes, no per-point allocation.
   */
  build(sx, sy, depth, visible, width, height) {
    const n = sx.length;
    const c = this.cell;
    this.cols = Math.max(1, Math.ceil(width / c));
    this.rows = Math.max(1, Math.ceil(height / c));
    const cells = this.cols * this.rows;
    if (this.start.length < cells + 1) this.start = new Int32Array(cells + 1);
    else this.start.fill(0, 0, cells + 1);
    if (this.items.length < n) this.items = new Int32Array(n);
    this.sx = sx;
    this.sy = sy;
    this.depth = depth;
    const cellOf = (i) => {
      const x = sx[i];
      const y = sy[i];
      if (!visible(i) || !(x >= 0 && y >= 0 && x < width && y < height)) return -1;
      return Math.floor(y / c) * this.cols + Math.floor(x / c);
    };
    for (let i = 0; i < n; i++) {
      const k = cellOf(i);
      if (k >= 0) this.start[k + 1]++;
    }
    for (let k = 0; k < cells; k++) this.start[k + 1] += this.start[k];
    const fill = this.start.slice(0, cells);
    for (let i = 0; i < n; i++) {
      const k = cellOf(i);
      if (k >= 0) this.items[fill[k]++] = i;
    }
  }

  /**
   * nearest returns the index of the point within radius CSS pixels of
   * (x, y), preferring the nearest to the viewer among close calls, or -1.
   */
  nearest(x, y, radius) {
    const c = this.cell;
    const c0 = Math.max(0, Math.floor((x - radius) / c));
    const c1 = Math.min(this.cols - 1, Math.floor((x + radius) / c));
    const r0 = Math.max(0, Math.floor((y - radius) / c));
    const r1 = Math.min(this.rows - 1, Math.floor((y + radius) / c));
    let best = -1;
    let bestScore = Infinity;
    const r2 = radius * radius;
    for (let r = r0; r <= r1; r++) {
      for (let col = c0; col <= c1; col++) {
        const k = r * this.cols + col;
        for (let j = this.start[k]; j < this.start[k + 1]; j++) {
          const i = this.items[j];
          const dx = this.sx[i] - x;
          const dy = this.sy[i] - y;
          const d2 = dx * dx + dy * dy;
          if (d2 > r2) continue;
          // Among points under the cursor, the one drawn on top wins: the
          // nearest in depth; later points are drawn over earlier ones in 2D.
          const score = d2 / r2 + this.depth[i] * 0.5 - i * 1e-9;
          if (score < bestScore) {
            bestScore = score;
            best = i;
          }
        }
      }
    }
    return best;
  }
}
