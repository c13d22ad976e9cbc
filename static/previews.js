// Previews of items: small pictures of image items drawn from the dataset's
// grey pixels, and the text or name of other items. Everything from data
// goes into the page as textContent or pixels, never as markup.

/** Previews makes preview elements for the items of one dataset. */
export class Previews {
  /**
   * @param {{kind: string, width: number, height: number, texts?: string[], names?: string[], headwords?: string[]}} dataset
   */
  constructor(dataset) {
    this.kind = dataset.kind;
    this.width = dataset.width | 0;
    this.height = dataset.height | 0;
    this.texts = Array.isArray(dataset.texts) ? dataset.texts : null;
    this.names = Array.isArray(dataset.names) ? dataset.names : null;
    this.headwords = Array.isArray(dataset.headwords) ? dataset.headwords : null;
    this.pixels = null; // Uint8Array, n×(width×height), once loaded
  }

  /** setPixels provides the dataset's grey pixels. */
  setPixels(bytes) {
    const per = this.width * this.height;
    if (per <= 0 || bytes.length % per !== 0) return;
    this.pixels = bytes;
    // Stretch to full contrast whatever the stored range (0..16 for digits).
    let max = 0;
    for (let j = 0; j < bytes.length; j++) if (bytes[j] > max) max = bytes[j];
    this.pixelScale = max > 0 ? 255 / max : 1;
  }

  /** isImage reports whether items can be drawn as pictures. */
  isImage() {
    return this.kind === 'images' && this.width > 0 && this.height > 0;
  }

  /**
   * item returns a preview of item i, size CSS pixels wide; a picture when
   * pixels are loaded, else the item's text, name or number.
   */
  item(i, size) {
    if (this.isImage() && this.pixels) {
      const per = this.width * this.height;
      return this.picture(this.pixels.subarray(i * per, (i + 1) * per), this.pixelScale, size);
    }
    const span = document.createElement('span');
    span.className = 'preview-text';
    const text = this.words(i) || `item ${i}`;
    span.textContent = text;
    span.title = text; // the list may cut long texts short
    return span;
  }

  /**
   * words returns item i's text or name, or "" when it has neither; a
   * definition comes with the words it defines ("Piranga: a genus of …").
   */
  words(i) {
    const text = (this.texts && this.texts[i]) || (this.names && this.names[i]) || '';
    const head = this.headwords && this.headwords[i];
    return head && text ? `${head}: ${text}` : text;
  }

  /** headword returns the words item i defines, or "". */
  headword(i) {
    return (this.headwords && this.headwords[i]) || '';
  }

  /** hasWords reports whether items have texts or names to show. */
  hasWords() {
    return this.texts !== null || this.names !== null;
  }

  /**
   * values returns a preview of an input vector in [0, 1] (a pair's view):
   * a picture for images, else a strip of grey cells.
   */
  values(v, size) {
    if (this.isImage() && v.length === this.width * this.height) return this.picture(v, 255, size);
    const w = Math.min(v.length, 64);
    const c = document.createElement('canvas');
    c.width = w;
    c.height = 1;
    c.className = 'preview strip';
    c.style.width = `${size}px`;
    c.style.height = `${Math.round(size / 4)}px`;
    const img = c.getContext('2d').createImageData(w, 1);
    for (let x = 0; x < w; x++) {
      const g = 255 - Math.round(255 * Math.max(0, Math.min(1, v[x])));
      img.data.set([g, g, g, 255], x * 4);
    }
    c.getContext('2d').putImageData(img, 0, 0);
    return c;
  }

  picture(grey, scale, size) {
    const c = document.createElement('canvas');
    c.width = this.width;
    c.height = this.height;
    c.className = 'preview';
    c.style.width = `${size}px`;
    c.style.height = `${Math.round((size * this.height) / this.width)}px`;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(this.width, this.height);
    for (let p = 0; p < this.width * this.height; p++) {
      const g = Math.max(0, Math.min(255, Math.round(grey[p] * scale)));
      img.data[p * 4] = g;
      img.data[p * 4 + 1] = g;
      img.data[p * 4 + 2] = g;
      img.data[p * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return c;
  }
}
