// Class colours. The first eight are Okabe & Ito's colour-blind-safe palette
// (Okabe and Ito, "Color Universal Design", 2008), ordered so the colours
// easiest to tell apart on a washed-out projector come first and the pale
// yellow comes late; then three from Paul Tol's colour-blind-safe "muted"
// scheme (wine, olive, teal) and a brown to reach twelve. Tol's indigo was
// the eleventh once, but beside the blue on a projector the two read as one
// (seen with the twelve genres of the listening histories). Past twelve
// classes colours repeat, and the legend says so.

/** PALETTE holds the class colours as CSS hex strings. */
export const PALETTE = [
  '#0072B2', // blue
  '#E69F00', // orange
  '#009E73', // bluish green
  '#D55E00', // vermillion
  '#56B4E9', // sky blue
  '#CC79A7', // reddish purple
  '#000000', // black
  '#F0E442', // yellow
  '#882255', // wine (Tol)
  '#999933', // olive (Tol)
  '#8C564B', // brown
  '#44AA99', // teal (Tol)
];

/** UNLABELLED is the colour of items without a label. */
export const UNLABELLED = '#9A9A9A';

/** POSITIVE and NEGATIVE colour positive and negative pairs everywhere. */
export const POSITIVE = '#0072B2';
export const NEGATIVE = '#D55E00';

/**
 * colourOf returns the CSS colour of a label (-1 for unlabelled).
 * @param {number} label
 */
export function colourOf(label) {
  if (label < 0) return UNLABELLED;
  return PALETTE[label % PALETTE.length];
}

/**
 * rgbOf parses "#rrggbb" into [r, g, b] bytes.
 * @param {string} hex
 */
export function rgbOf(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
