// Binary coordinate frames (docs/protocol.md, "Binary coordinate frame"):
// a 16-byte little-endian header (magic "CEF1", epoch, n, dims) followed by
// n×dims float32 coordinates, row-major, in dataset order.

const MAGIC = [0x43, 0x45, 0x46, 0x31]; // "CEF1"
const HEADER = 16;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * decodeFrame parses one binary frame.
 * @param {ArrayBuffer} buf
 * @returns {{epoch: number, n: number, dims: number, coords: Float32Array}}
 * @throws {Error} when the bytes are not a well-formed frame.
 */
export function decodeFrame(buf) {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < HEADER) {
    throw new Error(`frame: ${buf && buf.byteLength} bytes is shorter than the ${HEADER}-byte header`);
  }
  const head = new Uint8Array(buf, 0, 4);
  for (let i = 0; i < 4; i++) {
    if (head[i] !== MAGIC[i]) throw new Error('frame: bad magic (want CEF1)');
  }
  const dv = new DataView(buf);
  const epoch = dv.getUint32(4, true);
  const n = dv.getUint32(8, true);
  const dims = dv.getUint8(12);
  if (dims !== 2 && dims !== 3) throw new Error(`frame: dims ${dims}, want 2 or 3`);
  const want = HEADER + n * dims * 4;
  if (buf.byteLength !== want) {
    throw new Error(`frame: ${buf.byteLength} bytes for ${n} points in ${dims}D, want ${want}`);
  }
  let coords;
  if (littleEndian) {
    // Copy so the frame owns its memory even if the socket reuses buffers.
    coords = new Float32Array(buf.slice(HEADER));
  } else {
    coords = new Float32Array(n * dims);
    for (let i = 0; i < coords.length; i++) coords[i] = dv.getFloat32(HEADER + 4 * i, true);
  }
  return { epoch, n, dims, coords };
}

/**
 * encodeFrame builds a frame; the inverse of decodeFrame, used by tests and
 * demos.
 * @param {number} epoch
 * @param {number} dims 2 or 3
 * @param {ArrayLike<number>} coords n×dims values
 * @returns {ArrayBuffer}
 */
export function encodeFrame(epoch, dims, coords) {
  const n = coords.length / dims;
  const buf = new ArrayBuffer(HEADER + coords.length * 4);
  const dv = new DataView(buf);
  MAGIC.forEach((b, i) => dv.setUint8(i, b));
  dv.setUint32(4, epoch, true);
  dv.setUint32(8, n, true);
  dv.setUint8(12, dims);
  for (let i = 0; i < coords.length; i++) dv.setFloat32(HEADER + 4 * i, coords[i], true);
  return buf;
}
