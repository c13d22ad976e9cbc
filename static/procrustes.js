// Orthogonal Procrustes for the comparison page: the rotation (or
// reflection) that turns one layout onto another of the same points, so
// two runs' maps can be read side by side. Frames arrive centred on the
// origin and scaled to fill the view (docs/protocol.md, "Binary coordinate
// frame"), so a rotation is all that is left to choose.

/**
 * rotationOnto returns the dims×dims orthogonal matrix R (row-major) that
 * minimises ‖cur·R − ref‖ over the n points of two n×dims layouts: the
 * orthogonal polar factor of M = curᵀ·ref, found by Newton's iteration
 * X ← (X + X⁻ᵀ)/2, which converges quadratically for the small, well-
 * conditioned M of two maps of the same items. It returns the identity
 * when M is singular (a layout collapsed to a line or a point).
 * @param {Float32Array|number[]} ref
 * @param {Float32Array|number[]} cur
 * @param {number} n
 * @param {number} dims 2 or 3
 * @returns {number[]}
 */
export function rotationOnto(ref, cur, n, dims) {
  const M = new Array(dims * dims).fill(0);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dims; a++) {
      const c = cur[i * dims + a];
      for (let b = 0; b < dims; b++) M[a * dims + b] += c * ref[i * dims + b];
    }
  }
  const identity = () => Array.from({ length: dims * dims }, (_, k) => (k % (dims + 1) === 0 ? 1 : 0));
  let scale = 0;
  for (const v of M) scale = Math.max(scale, Math.abs(v));
  if (!(scale > 0) || !Number.isFinite(scale)) return identity();
  let X = M.map((v) => v / scale);
  for (let it = 0; it < 60; it++) {
    const inv = inverse(X, dims);
    if (!inv) return identity();
    let change = 0;
    const next = X.map((v, k) => {
      const r = Math.floor(k / dims);
      const c = k % dims;
      const w = (v + inv[c * dims + r]) / 2; // X⁻ᵀ[r][c] = X⁻¹[c][r]
      change = Math.max(change, Math.abs(w - v));
      return w;
    });
    X = next;
    if (change < 1e-12) break;
  }
  return X;
}

/** inverse returns the inverse of the dims×dims matrix A, or null. */
function inverse(A, dims) {
  if (dims === 2) {
    const [a, b, c, d] = A;
    const det = a * d - b * c;
    if (Math.abs(det) < 1e-14) return null;
    return [d / det, -b / det, -c / det, a / det];
  }
  const [a, b, c, d, e, f, g, h, i] = A;
  const A0 = e * i - f * h;
  const B0 = -(d * i - f * g);
  const C0 = d * h - e * g;
  const det = a * A0 + b * B0 + c * C0;
  if (Math.abs(det) < 1e-14) return null;
  return [
    A0 / det, -(b * i - c * h) / det, (b * f - c * e) / det,
    B0 / det, (a * i - c * g) / det, -(a * f - c * d) / det,
    C0 / det, -(a * h - b * g) / det, (a * e - b * d) / det,
  ];
}

/**
 * alignOnto returns cur (n×dims) turned onto ref: cur·R, a new array.
 */
export function alignOnto(ref, cur, n, dims) {
  const R = rotationOnto(ref, cur, n, dims);
  const out = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < dims; b++) {
      let s = 0;
      for (let a = 0; a < dims; a++) s += cur[i * dims + a] * R[a * dims + b];
      out[i * dims + b] = s;
    }
  }
  return out;
}
