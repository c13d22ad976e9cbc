// Timings for the page's debugging handle and the browser benchmark: when
// each live epoch's frame arrived and when the scatter first drew it
// (performance.now() milliseconds), how long after the server sent it
// (sinceSent: Date.now() at the draw minus the message's sent_ms, so it
// includes any clock difference between server and browser), and the
// wall-clock time of the first drawn frame.

const TIMINGS_KEPT = 500;
const ARRIVALS_KEPT = 8;

/** Timings follows live epochs from arrival to first draw. */
export class Timings {
  constructor() {
    this.arrivals = new Map(); // epoch -> {received, sentMs}, for live epochs not yet drawn
    this.bySeq = new Map(); // scatter frame number -> {epoch, received, sentMs}
    this.frames = []; // {epoch, received, drawn, sentMs, sinceSent}
    this.firstDrawnWall = 0;
    this.hello = 0; // when the first hello arrived
  }

  /** helloArrived notes the first hello. */
  helloArrived() {
    if (!this.hello) this.hello = performance.now();
  }

  /** arrived notes a live epoch's frame, received at performance.now() received. */
  arrived(epoch, received, sentMs) {
    this.arrivals.set(epoch, { received, sentMs });
    if (this.arrivals.size > ARRIVALS_KEPT) this.arrivals.delete(this.arrivals.keys().next().value);
  }

  /** shown notes that the scatter's frame number seq shows the epoch. */
  shown(epoch, seq) {
    if (!this.arrivals.has(epoch)) return;
    this.bySeq.set(seq, { epoch, ...this.arrivals.get(epoch) });
    this.arrivals.delete(epoch);
  }

  /** drawn notes when the scatter first draws its frame number seq. */
  drawn(seq) {
    const now = performance.now();
    if (!this.firstDrawnWall) this.firstDrawnWall = performance.timeOrigin + now;
    const t = this.bySeq.get(seq);
    if (!t) return;
    this.bySeq.delete(seq);
    const sinceSent = t.sentMs != null ? Date.now() - t.sentMs : null;
    this.frames.push({ epoch: t.epoch, received: t.received, drawn: now, sentMs: t.sentMs, sinceSent });
    if (this.frames.length > TIMINGS_KEPT) this.frames.splice(0, this.frames.length - TIMINGS_KEPT);
    // Frames conflated in the scatter (a newer one set before drawing) are
    // never drawn themselves: forget them.
    for (const k of this.bySeq.keys()) if (k < seq) this.bySeq.delete(k);
  }

  /** snapshot returns a copy of the timings, with renders, the scatter's count of renders. */
  snapshot(renders) {
    return {
      frames: this.frames.map((f) => ({ ...f })),
      firstDrawnWall: this.firstDrawnWall,
      hello: this.hello,
      renders,
    };
  }
}
