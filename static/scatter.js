// The scatter: every point of the run as a round sprite, drawn with WebGL2.
// Points glide from one frame's position to the next: the vertex shader mixes
// a "from" and a "to" buffer by an eased time uniform, so a 70,000-point move
// costs two buffer uploads and nothing per animation frame. A 2D canvas on
// top (the overlay) draws what needs lines and text: selection, neighbour
// links, margins, trails and, in 3D, a reference cube.

import { PickGrid } from './picking.js';
import { colourOf, rgbOf } from './palette.js';

const VERTEX = `#version 300 es
in vec3 a_from;
in vec3 a_to;
in float a_colour;
in float a_match;
uniform mat4 u_mvp;
uniform float u_t;
uniform float u_size;
uniform float u_persp;
uniform sampler2D u_palette;
uniform float u_dim;
uniform vec3 u_background;
out vec4 v_colour;
void main() {
  vec4 c = texelFetch(u_palette, ivec2(int(a_colour + 0.5), 0), 0);
  if (c.a < 0.5) {
    // Hidden class: put the vertex outside the clip volume.
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
    gl_PointSize = 0.0;
    v_colour = vec4(0.0);
    return;
  }
  vec3 p = mix(a_from, a_to, u_t);
  gl_Position = u_mvp * vec4(p, 1.0);
  float k = u_persp > 0.5 ? clamp(1.0 / gl_Position.w, 0.6, 1.8) : 1.0;
  gl_PointSize = u_size * k;
  v_colour = c;
  if (u_dim > 0.5 && a_match < 0.5) {
    // A search is shown: the points it did not find fade into the
    // background and shrink, so the found ones stand out.
    v_colour = vec4(mix(c.rgb, u_background, 0.78), 1.0);
    gl_PointSize = u_size * k * 0.75;
  }
}`;

const FRAGMENT = `#version 300 es
precision mediump float;
in vec4 v_colour;
out vec4 o_colour;
void main() {
  vec2 d = gl_PointCoord * 2.0 - 1.0;
  float r = length(d);
  float aa = fwidth(r);
  if (r > 1.0 + aa) discard;
  // A darker rim separates overlapping discs and keeps pale colours visible
  // on a white background and a washed-out projector.
  vec3 rgb = mix(v_colour.rgb, v_colour.rgb * 0.55, smoothstep(0.68 - aa, 0.68 + aa, r));
  float alpha = 1.0 - smoothstep(1.0 - aa, 1.0 + aa, r);
  o_colour = vec4(rgb, alpha);
}`;

const ease = (t) => (t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2);

/** Scatter draws and animates points and handles zoom, pan and orbit. */
export class Scatter {
  /**
   * @param {HTMLCanvasElement} canvas the WebGL2 canvas
   * @param {HTMLCanvasElement} overlay a 2D canvas stacked on top of it
   * @param {{hover?: (i:number, x:number, y:number)=>void, click?: (i:number, ev:PointerEvent)=>void, overlay?: (ctx:CanvasRenderingContext2D, view:Scatter)=>void, drawn?: (seq:number)=>void}} cb
   *   drawn is called from the first render that shows a new setFrame call
   *   (numbered from 1), inside the animation frame that draws it.
   * @throws {Error} when the browser has no WebGL2.
   */
  constructor(canvas, overlay, cb = {}) {
    this.canvas = canvas;
    this.overlay = overlay;
    this.cb = cb;
    const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, premultipliedAlpha: false });
    if (!gl) throw new Error('this browser cannot draw WebGL2');
    this.gl = gl;
    this.octx = overlay.getContext('2d');
    this.background = [1, 1, 1];

    this.n = 0;
    this.dims = 2;
    this.from = new Float32Array(0);
    this.to = new Float32Array(0);
    this.colourIndex = new Float32Array(0);
    this.match = new Float32Array(0);
    this.dimming = false;
    this.labels = new Int32Array(0);
    this.classes = 0;
    this.hidden = new Set();
    this.t = 1;
    this.animStart = 0;
    this.animMs = 0;

    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.yaw = 0;
    this.pitch = 0;
    this.cssW = 1;
    this.cssH = 1;
    this.dpr = 1;
    this.baseSize = 8;

    this.grid = new PickGrid(16);
    this.gridKey = '';
    this.sx = new Float32Array(0);
    this.sy = new Float32Array(0);
    this.sz = new Float32Array(0);
    this.version = 0;
    this.raf = 0;
    // Counters for the page's timing handle: renders drawn, and the number
    // of the frame (setFrame call) the last render showed.
    this.renders = 0;
    this.frameSeq = 0;
    this.drawnSeq = 0;

    this.initGL();
    this.bindEvents();
    // A sleeping laptop or a GPU reset loses the context; rebuild it, with
    // the points where they were, when the browser gives it back.
    canvas.addEventListener('webglcontextlost', (ev) => {
      ev.preventDefault();
      cancelAnimationFrame(this.raf);
      this.raf = 0;
      this.lost = true;
    });
    canvas.addEventListener('webglcontextrestored', () => {
      this.lost = false;
      this.initGL();
      this.upload(this.bufFrom, this.from);
      this.upload(this.bufTo, this.to);
      this.upload(this.bufColour, this.colourIndex);
      this.upload(this.bufMatch, this.match);
      this.changed();
    });
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas.parentElement || canvas);
    this.resize();
  }

  initGL() {
    const gl = this.gl;
    const prog = gl.createProgram();
    for (const [type, src] of [
      [gl.VERTEX_SHADER, VERTEX],
      [gl.FRAGMENT_SHADER, FRAGMENT],
    ]) {
      const sh = gl.createShader(type);
      gl.shaderSource(sh, src);
      gl.compileShader(sh);
      if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) {
        throw new Error(`shader: ${gl.getShaderInfoLog(sh)}`);
      }
      gl.attachShader(prog, sh);
    }
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`shader link: ${gl.getProgramInfoLog(prog)}`);
    this.prog = prog;
    this.loc = {
      from: gl.getAttribLocation(prog, 'a_from'),
      to: gl.getAttribLocation(prog, 'a_to'),
      colour: gl.getAttribLocation(prog, 'a_colour'),
      match: gl.getAttribLocation(prog, 'a_match'),
      dim: gl.getUniformLocation(prog, 'u_dim'),
      background: gl.getUniformLocation(prog, 'u_background'),
      mvp: gl.getUniformLocation(prog, 'u_mvp'),
      t: gl.getUniformLocation(prog, 'u_t'),
      size: gl.getUniformLocation(prog, 'u_size'),
      persp: gl.getUniformLocation(prog, 'u_persp'),
      palette: gl.getUniformLocation(prog, 'u_palette'),
    };
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    this.bufFrom = this.attrib(this.loc.from, 3);
    this.bufTo = this.attrib(this.loc.to, 3);
    this.bufColour = this.attrib(this.loc.colour, 1);
    this.bufMatch = this.attrib(this.loc.match, 1);
    gl.bindVertexArray(null);
    this.paletteTex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.paletteTex);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    this.uploadPalette();
  }

  attrib(loc, size) {
    const gl = this.gl;
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, size, gl.FLOAT, false, 0, 0);
    return buf;
  }

  /**
   * setLabels sets each point's class (n ints, -1 unlabelled) and the number
   * of classes; it resets the positions when n changes.
   */
  setLabels(labels, classes) {
    const n = labels.length;
    this.labels = Int32Array.from(labels);
    this.classes = classes;
    this.colourIndex = new Float32Array(n);
    for (let i = 0; i < n; i++) this.colourIndex[i] = labels[i] < 0 ? 0 : labels[i] + 1;
    if (n !== this.n) {
      this.n = n;
      this.from = new Float32Array(n * 3);
      this.to = new Float32Array(n * 3);
      this.sx = new Float32Array(n);
      this.sy = new Float32Array(n);
      this.sz = new Float32Array(n);
      this.match = new Float32Array(n);
      this.dimming = false;
      this.upload(this.bufFrom, this.from);
      this.upload(this.bufTo, this.to);
      this.upload(this.bufMatch, this.match);
    }
    this.upload(this.bufColour, this.colourIndex);
    this.baseSize = Math.min(12, Math.max(3.5, 26 - 5 * Math.log10(Math.max(10, n))));
    this.uploadPalette();
    this.changed();
  }

  /**
   * setMatches fades every point but the given ones (item indices); null
   * or undefined shows all points normally again.
   */
  setMatches(items) {
    this.match.fill(0);
    this.dimming = items != null;
    if (items) for (const i of items) if (i >= 0 && i < this.n) this.match[i] = 1;
    this.upload(this.bufMatch, this.match);
    this.changed();
  }

  /** setHidden hides the classes in the set (labels; -1 for unlabelled). */
  setHidden(hidden) {
    this.hidden = new Set(hidden);
    this.uploadPalette();
    this.changed();
  }

  uploadPalette() {
    const gl = this.gl;
    const w = this.classes + 1;
    const data = new Uint8Array(w * 4);
    for (let k = 0; k < w; k++) {
      const label = k - 1;
      const [r, g, b] = rgbOf(colourOf(label));
      data.set([r, g, b, this.hidden.has(label) ? 0 : 255], k * 4);
    }
    gl.bindTexture(gl.TEXTURE_2D, this.paletteTex);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, w, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, data);
  }

  upload(buf, data) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.DYNAMIC_DRAW);
  }

  /**
   * setFrame moves the points to new coordinates (n×dims, dims 2 or 3),
   * gliding there over ms milliseconds from wherever they are now (0 jumps).
   */
  setFrame(coords, dims, ms = 400) {
    const n = this.n;
    if (coords.length !== n * dims) throw new Error(`scatter: ${coords.length} coordinates for ${n} points in ${dims}D`);
    const first = this.everDrawn !== true;
    // Start from the current on-screen position, so a new frame arriving in
    // mid-glide continues smoothly instead of jumping.
    const e = ease(this.t);
    for (let j = 0; j < n * 3; j++) this.from[j] += (this.to[j] - this.from[j]) * e;
    for (let i = 0; i < n; i++) {
      this.to[i * 3] = coords[i * dims];
      this.to[i * 3 + 1] = coords[i * dims + 1];
      this.to[i * 3 + 2] = dims === 3 ? coords[i * dims + 2] : 0;
    }
    if (dims !== this.dims) {
      this.dims = dims;
      this.resetView();
    }
    if (first || ms <= 0) this.from.set(this.to);
    this.everDrawn = true;
    this.upload(this.bufFrom, this.from);
    this.upload(this.bufTo, this.to);
    this.t = first || ms <= 0 ? 1 : 0;
    this.animStart = performance.now();
    this.animMs = ms;
    this.frameSeq++;
    this.changed();
  }

  /** resetView restores the default zoom, pan and, in 3D, a tilted view. */
  resetView() {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.yaw = this.dims === 3 ? 0.6 : 0;
    this.pitch = this.dims === 3 ? 0.35 : 0;
    this.changed();
  }

  /** camera returns the view: zoom, pan and, in 3D, the turn. */
  camera() {
    return { zoom: this.zoom, pan_x: this.panX, pan_y: this.panY, yaw: this.yaw, pitch: this.pitch };
  }

  /** setCamera moves the view to c (as camera() returns it). */
  setCamera(c) {
    if (!c) return;
    const num = (v, d) => (Number.isFinite(v) ? v : d);
    this.zoom = Math.max(0.3, Math.min(60, num(c.zoom, 1)));
    this.panX = num(c.pan_x, 0);
    this.panY = num(c.pan_y, 0);
    this.yaw = num(c.yaw, 0);
    this.pitch = Math.max(-1.5, Math.min(1.5, num(c.pitch, 0)));
    this.changed();
  }

  /** moved tells the page that the learner moved the view themselves. */
  moved() {
    if (this.cb.moved) this.cb.moved();
  }

  /** changed schedules a redraw on the next animation frame. */
  changed() {
    this.version++;
    if (!this.raf && !this.lost) this.raf = requestAnimationFrame((now) => this.frame(now));
  }

  frame(now) {
    this.raf = 0;
    if (this.t < 1) {
      this.t = this.animMs > 0 ? Math.min(1, (now - this.animStart) / this.animMs) : 1;
      this.version++;
      this.raf = requestAnimationFrame((n2) => this.frame(n2));
    }
    this.render();
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    const w = Math.max(1, Math.round(rect.width * dpr));
    const h = Math.max(1, Math.round(rect.height * dpr));
    this.cssW = Math.max(1, rect.width);
    this.cssH = Math.max(1, rect.height);
    this.dpr = dpr;
    for (const c of [this.canvas, this.overlay]) {
      if (c.width !== w || c.height !== h) {
        c.width = w;
        c.height = h;
      }
    }
    this.changed();
  }

  /**
   * fit is the size in CSS pixels of the layout's [-1, 1] span at zoom 1:
   * the canvas's shorter side, less a margin; smaller in 3D, where a turned
   * cube's corners reach further than its faces.
   */
  fit() {
    return 0.92 * Math.min(this.cssW, this.cssH) * (this.dims === 3 ? 0.7 : 1);
  }

  /** matrix returns the column-major model-view-projection matrix. */
  matrix() {
    const s = this.fit();
    const sx = s / this.cssW;
    const sy = s / this.cssH;
    const cy = Math.cos(this.yaw);
    const syw = Math.sin(this.yaw);
    const cp = Math.cos(this.pitch);
    const sp = Math.sin(this.pitch);
    // R = Rx(pitch) · Ry(yaw), rows R0, R1, R2.
    const R = [
      [cy, 0, syw],
      [sp * syw, cp, -sp * cy],
      [-cp * syw, sp, cp * cy],
    ];
    const k = this.dims === 3 ? 0.25 : 0; // weak perspective, camera 4 units away
    const z = this.zoom;
    const m = new Float32Array(16);
    for (let c = 0; c < 3; c++) {
      const w = -k * R[2][c];
      m[c * 4 + 0] = sx * z * R[0][c] + sx * this.panX * w;
      m[c * 4 + 1] = sy * z * R[1][c] + sy * this.panY * w;
      m[c * 4 + 2] = -R[2][c] / 3.5;
      m[c * 4 + 3] = w;
    }
    m[12] = sx * this.panX;
    m[13] = sy * this.panY;
    m[14] = 0;
    m[15] = 1;
    return m;
  }

  /** pointSize is a point's diameter in CSS pixels at the current zoom. */
  pointSize() {
    return this.baseSize * Math.min(2.5, Math.max(1, Math.sqrt(this.zoom)));
  }

  /** animating reports whether points are still gliding to their frame. */
  animating() {
    return this.t < 1;
  }

  render() {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(...this.background, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    this.mvp = this.matrix();
    if (this.n > 0 && this.everDrawn) {
      gl.useProgram(this.prog);
      gl.bindVertexArray(this.vao);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
      if (this.dims === 3) {
        gl.enable(gl.DEPTH_TEST);
        gl.depthFunc(gl.LEQUAL);
      } else {
        gl.disable(gl.DEPTH_TEST);
      }
      gl.uniformMatrix4fv(this.loc.mvp, false, this.mvp);
      gl.uniform1f(this.loc.t, ease(this.t));
      gl.uniform1f(this.loc.size, this.pointSize() * this.dpr);
      gl.uniform1f(this.loc.persp, this.dims === 3 ? 1 : 0);
      gl.uniform1f(this.loc.dim, this.dimming ? 1 : 0);
      gl.uniform3f(this.loc.background, ...this.background);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.paletteTex);
      gl.uniform1i(this.loc.palette, 0);
      gl.drawArrays(gl.POINTS, 0, this.n);
      gl.bindVertexArray(null);
    }
    this.drawOverlay();
    this.renders++;
    if (this.drawnSeq !== this.frameSeq) {
      this.drawnSeq = this.frameSeq;
      if (this.cb.drawn) this.cb.drawn(this.frameSeq);
    }
  }

  drawOverlay() {
    const ctx = this.octx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (this.dims === 3 && this.everDrawn) this.drawCube(ctx);
    if (this.cb.overlay) this.cb.overlay(ctx, this);
  }

  drawCube(ctx) {
    const c = [-1, 1];
    const corners = [];
    for (const x of c) for (const y of c) for (const z of c) corners.push(this.project(x, y, z));
    ctx.save();
    ctx.strokeStyle = 'rgba(0,0,0,0.18)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let a = 0; a < 8; a++) {
      for (let b = a + 1; b < 8; b++) {
        const diff = a ^ b;
        if (diff === 1 || diff === 2 || diff === 4) {
          ctx.moveTo(corners[a].x, corners[a].y);
          ctx.lineTo(corners[b].x, corners[b].y);
        }
      }
    }
    ctx.stroke();
    ctx.restore();
  }

  /** position returns point i's current (possibly mid-glide) world position. */
  position(i) {
    const e = ease(this.t);
    const j = i * 3;
    return [
      this.from[j] + (this.to[j] - this.from[j]) * e,
      this.from[j + 1] + (this.to[j + 1] - this.from[j + 1]) * e,
      this.from[j + 2] + (this.to[j + 2] - this.from[j + 2]) * e,
    ];
  }

  /** project maps a world position to CSS pixels within the canvas. */
  project(x, y, z) {
    const m = this.mvp || this.matrix();
    const cx = m[0] * x + m[4] * y + m[8] * z + m[12];
    const cy = m[1] * x + m[5] * y + m[9] * z + m[13];
    const cz = m[2] * x + m[6] * y + m[10] * z + m[14];
    const w = m[3] * x + m[7] * y + m[11] * z + m[15];
    return {
      x: ((cx / w + 1) / 2) * this.cssW,
      y: ((1 - cy / w) / 2) * this.cssH,
      depth: cz / w,
    };
  }

  /** screenOf returns point i's position in CSS pixels within the canvas. */
  screenOf(i) {
    const [x, y, z] = this.position(i);
    return this.project(x, y, z);
  }

  /** visible reports whether point i's class is shown. */
  visible(i) {
    return !this.hidden.has(this.labels[i] < 0 ? -1 : this.labels[i]);
  }

  /** pick returns the point under (x, y) CSS pixels, or -1. */
  pick(x, y) {
    if (!this.everDrawn) return -1;
    const key = `${this.version}`;
    if (key !== this.gridKey) {
      // Inline projection: this runs over every point, so no per-point
      // allocation.
      const m = (this.mvp = this.matrix());
      const e = ease(this.t);
      const { from, to, cssW, cssH } = this;
      for (let i = 0; i < this.n; i++) {
        const j = i * 3;
        const x = from[j] + (to[j] - from[j]) * e;
        const y = from[j + 1] + (to[j + 1] - from[j + 1]) * e;
        const z = from[j + 2] + (to[j + 2] - from[j + 2]) * e;
        const w = m[3] * x + m[7] * y + m[11] * z + m[15];
        this.sx[i] = (((m[0] * x + m[4] * y + m[8] * z + m[12]) / w + 1) / 2) * cssW;
        this.sy[i] = ((1 - (m[1] * x + m[5] * y + m[9] * z + m[13]) / w) / 2) * cssH;
        this.sz[i] = (m[2] * x + m[6] * y + m[10] * z + m[14]) / w;
      }
      this.grid.build(this.sx, this.sy, this.sz, (i) => this.visible(i), this.cssW, this.cssH);
      this.gridKey = key;
    }
    return this.grid.nearest(x, y, this.pointSize() / 2 + 4);
  }

  bindEvents() {
    const el = this.overlay;
    let down = null;
    const local = (ev) => {
      const r = el.getBoundingClientRect();
      return [ev.clientX - r.left, ev.clientY - r.top];
    };
    el.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0 && ev.button !== 2) return;
      const [x, y] = local(ev);
      down = { x, y, lastX: x, lastY: y, moved: false, id: ev.pointerId, pan: ev.button === 2 || ev.shiftKey };
      el.setPointerCapture(ev.pointerId);
    });
    el.addEventListener('pointermove', (ev) => {
      const [x, y] = local(ev);
      if (down && down.id === ev.pointerId) {
        const dx = x - down.lastX;
        const dy = y - down.lastY;
        down.lastX = x;
        down.lastY = y;
        if (!down.moved && Math.hypot(x - down.x, y - down.y) < 4) return;
        if (!down.moved) el.classList.add('dragging');
        down.moved = true;
        if (this.dims === 3 && !down.pan) {
          this.yaw += dx * 0.008;
          this.pitch = Math.max(-1.5, Math.min(1.5, this.pitch + dy * 0.008));
        } else {
          const s = this.fit();
          this.panX += (2 * dx) / s;
          this.panY -= (2 * dy) / s;
        }
        if (this.cb.hover) this.cb.hover(-1, x, y);
        this.changed();
        this.moved();
        return;
      }
      if (this.cb.hover) this.cb.hover(this.pick(x, y), x, y);
    });
    const end = (ev) => {
      if (!down || down.id !== ev.pointerId) return;
      const wasClick = !down.moved && ev.type === 'pointerup';
      el.classList.remove('dragging');
      down = null;
      if (wasClick && this.cb.click) {
        const [x, y] = local(ev);
        this.cb.click(this.pick(x, y), ev);
      }
    };
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', end);
    el.addEventListener('pointerleave', () => {
      if (!down && this.cb.hover) this.cb.hover(-1, 0, 0);
    });
    el.addEventListener('contextmenu', (ev) => ev.preventDefault());
    el.addEventListener('dblclick', () => {
      this.resetView();
      this.moved();
    });
    el.addEventListener(
      'wheel',
      (ev) => {
        ev.preventDefault();
        const [x, y] = local(ev);
        const delta = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
        this.zoomAt(x, y, Math.exp(-delta * 0.0015));
        this.moved();
      },
      { passive: false },
    );
  }

  /** zoomAt scales the view by factor, keeping the point under (x, y) still. */
  zoomAt(x, y, factor) {
    const z2 = Math.max(0.3, Math.min(60, this.zoom * factor));
    const s = this.fit();
    // Offsets from the canvas centre, in units where the layout spans [-1, 1].
    const ux = (2 * x - this.cssW) / s;
    const uy = (this.cssH - 2 * y) / s;
    const f = z2 / this.zoom;
    this.panX = ux - (ux - this.panX) * f;
    this.panY = uy - (uy - this.panY) * f;
    this.zoom = z2;
    this.changed();
  }

  /**
   * snapshot draws now and returns the canvas as a PNG data URL (the
   * drawing buffer is only valid within the task that drew it).
   */
  snapshot() {
    this.render();
    return this.canvas.toDataURL('image/png');
  }
}
