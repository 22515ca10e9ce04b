/**
 * The playground's plots, drawn on canvases with no plotting library: line charts with linear or
 * log axes (several runs overlaid), and the landscape view (a shaded contour map of F(x, y(x)) for a
 * 2-D x, a curve for a 1-D x) with the iterate paths on top.
 */
import type { Landscape } from "./protocol.js";

export interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

const PAD = { l: 58, r: 12, t: 22, b: 36 };

function setup(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 420;
  const h = canvas.clientHeight || 280;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d")!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, sans-serif";
  return { g, w, h };
}

const fmt = (v: number) => {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-2 || a >= 1e4)) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
};

/** Ticks for [lo, hi]: powers of ten on a log axis, round numbers on a linear one. */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    const step = Math.max(1, Math.ceil((hi - lo) / 6));
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e += step) out.push(e);
    if (out.length >= 2) return out;
    // less than two decades: 1, 2 and 5 times powers of ten
    const fine: number[] = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) for (const m of [1, 2, 5]) fine.push(e + Math.log10(m));
    return fine.filter((v) => v >= lo - 1e-9 && v <= hi + 1e-9);
  }
  const raw = (hi - lo) / 5 || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(v);
  return out;
}

/** A line chart; non-positive values are left out on a log axis. Returns the number of points drawn. */
export function lineChart(canvas: HTMLCanvasElement, series: Series[], o: { title: string; xLabel: string; logX: boolean; logY: boolean }): number {
  const { g, w, h } = setup(canvas);
  const tx = (v: number) => (o.logX ? Math.log10(v) : v);
  const ty = (v: number) => (o.logY ? Math.log10(v) : v);
  const ok = (p: [number, number]) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!o.logX || p[0] > 0) && (!o.logY || p[1] > 0);
  const pts = series.map((s) => s.points.filter(ok).map(([a, b]) => [tx(a), ty(b)] as [number, number]));
  const all = pts.flat();
  g.fillStyle = "#222";
  g.fillText(o.title, PAD.l, 14);
  if (all.length === 0) {
    g.fillStyle = "#888";
    g.fillText("no data yet", w / 2 - 25, h / 2);
    return 0;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 - x0 < 1e-12) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 - y0 < 1e-12) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (v: number) => PAD.l + ((v - x0) / (x1 - x0)) * (w - PAD.l - PAD.r);
  const py = (v: number) => h - PAD.b - ((v - y0) / (y1 - y0)) * (h - PAD.t - PAD.b);
  g.strokeStyle = "#ccc";
  g.fillStyle = "#444";
  g.lineWidth = 1;
  for (const t of ticks(x0, x1, o.logX)) {
    g.beginPath();
    g.moveTo(px(t), PAD.t);
    g.lineTo(px(t), h - PAD.b);
    g.stroke();
    g.fillText(o.logX ? fmt(10 ** t) : fmt(t), px(t) - 12, h - PAD.b + 14);
  }
  for (const t of ticks(y0, y1, o.logY)) {
    g.beginPath();
    g.moveTo(PAD.l, py(t));
    g.lineTo(w - PAD.r, py(t));
    g.stroke();
    g.fillText(o.logY ? fmt(10 ** t) : fmt(t), 4, py(t) + 4);
  }
  g.fillText(o.xLabel + (o.logX ? " (log)" : ""), w / 2 - 20, h - 6);
  g.strokeStyle = "#888";
  g.strokeRect(PAD.l, PAD.t, w - PAD.l - PAD.r, h - PAD.t - PAD.b);
  let drawn = 0;
  series.forEach((s, i) => {
    g.strokeStyle = s.color;
    g.lineWidth = 1.6;
    g.beginPath();
    pts[i].forEach(([a, b], j) => (j ? g.lineTo(px(a), py(b)) : g.moveTo(px(a), py(b))));
    g.stroke();
    drawn += pts[i].length;
    g.fillStyle = s.color;
    g.fillText(s.label, w - PAD.r - 190, PAD.t + 14 + 13 * i);
  });
  return drawn;
}

/** Colour of t in [0, 1] (dark blue -> yellow). */
function shade(t: number): [number, number, number] {
  const c = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const u = Math.min(0.9999, Math.max(0, t)) * (c.length - 1);
  const i = Math.floor(u);
  const f = u - i;
  return [0, 1, 2].map((k) => Math.round(c[i][k] + f * (c[i + 1][k] - c[i][k]))) as [number, number, number];
}

/** The landscape with the runs' iterate paths; returns the number of path points drawn. */
export function landscapeChart(canvas: HTMLCanvasElement, land: Landscape | null, paths: Series[], note: string): number {
  const { g, w, h } = setup(canvas);
  g.fillStyle = "#222";
  g.fillText(land ? `F(x, y(x)) ${land.dim === 2 ? "contours" : "along x"}, iterate paths` : "landscape", PAD.l, 14);
  if (!land) {
    g.fillStyle = "#888";
    g.fillText(note || "pick a toy with a 1-D or 2-D x (e.g. toy-sc with n = 2)", PAD.l, h / 2);
    return 0;
  }
  const a = land.axis;
  const [lo, hi] = [a[0], a[a.length - 1]];
  const fin = land.values.filter(Number.isFinite);
  const fmin = Math.min(...fin);
  const fmax = Math.max(...fin);
  const lvl = (v: number) => Math.log1p((v - fmin) / ((fmax - fmin) / 200 || 1)) / Math.log1p(200);
  const size = Math.min(w - PAD.l - PAD.r, h - PAD.t - PAD.b);
  const px = (v: number) => PAD.l + ((v - lo) / (hi - lo)) * size;
  let drawn = 0;
  if (land.dim === 2) {
    const n = a.length;
    const py = (v: number) => PAD.t + size - ((v - lo) / (hi - lo)) * size;
    const img = g.createImageData(n, n);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const v = land.values[r * n + c];
        // 12 bands: the band edges are the contour lines
        const t = Math.floor(lvl(v) * 12) / 12;
        const [R, G, B] = Number.isFinite(v) ? shade(t) : [200, 200, 200];
        const o = ((n - 1 - r) * n + c) * 4;
        img.data.set([R, G, B, 255], o);
      }
    }
    const tmp = document.createElement("canvas");
    tmp.width = n;
    tmp.height = n;
    tmp.getContext("2d")!.putImageData(img, 0, 0);
    g.imageSmoothingEnabled = false;
    g.drawImage(tmp, PAD.l, PAD.t, size, size);
    g.strokeStyle = "#555";
    g.strokeRect(PAD.l, PAD.t, size, size);
    g.fillStyle = "#444";
    for (const t of ticks(lo, hi, false)) {
      g.fillText(fmt(t), px(t) - 8, PAD.t + size + 14);
      g.fillText(fmt(t), 8, py(t) + 4);
    }
    g.fillText("x1", PAD.l + size / 2, PAD.t + size + 28);
    g.fillText("x2", 8, PAD.t + 10);
    g.save();
    g.beginPath();
    g.rect(PAD.l, PAD.t, size, size);
    g.clip(); // paths that leave the window are cut at its edge
    for (const s of paths) {
      g.strokeStyle = s.color;
      g.fillStyle = s.color;
      g.lineWidth = 2;
      g.beginPath();
      s.points.forEach(([u, v], j) => (j ? g.lineTo(px(u), py(v)) : g.moveTo(px(u), py(v))));
      g.stroke();
      for (const [u, v] of s.points) g.fillRect(px(u) - 2, py(v) - 2, 4, 4);
      drawn += s.points.length;
    }
    if (land.optimum) {
      g.fillStyle = "#fff";
      g.strokeStyle = "#000";
      g.beginPath();
      g.arc(px(land.optimum[0]), py(land.optimum[1]), 5, 0, 2 * Math.PI);
      g.fill();
      g.stroke();
    }
    g.restore();
  } else {
    const py = (v: number) => PAD.t + size - ((v - fmin) / (fmax - fmin || 1)) * size;
    g.strokeStyle = "#555";
    g.strokeRect(PAD.l, PAD.t, size, size);
    g.strokeStyle = "#3b528b";
    g.lineWidth = 1.5;
    g.beginPath();
    a.forEach((u, i) => (i ? g.lineTo(px(u), py(land.values[i])) : g.moveTo(px(u), py(land.values[i]))));
    g.stroke();
    g.fillStyle = "#444";
    for (const t of ticks(lo, hi, false)) g.fillText(fmt(t), px(t) - 8, PAD.t + size + 14);
    for (const t of ticks(fmin, fmax, false)) g.fillText(fmt(t), 4, py(t) + 4);
    const interp = (u: number) => {
      const i = Math.max(0, Math.min(a.length - 2, Math.floor(((u - lo) / (hi - lo)) * (a.length - 1))));
      const f = (u - a[i]) / (a[i + 1] - a[i]);
      return land.values[i] + f * (land.values[i + 1] - land.values[i]);
    };
    for (const s of paths) {
      g.fillStyle = s.color;
      for (const [u] of s.points) g.fillRect(px(u) - 2.5, py(interp(u)) - 2.5, 5, 5);
      drawn += s.points.length;
    }
    if (land.optimum) {
      g.strokeStyle = "#000";
      g.beginPath();
      g.moveTo(px(land.optimum[0]), PAD.t);
      g.lineTo(px(land.optimum[0]), PAD.t + size);
      g.stroke();
    }
    g.fillText("x", PAD.l + size / 2, PAD.t + size + 28);
  }
  g.fillStyle = "#666";
  g.fillText(land.note, PAD.l + size + 8 > w - 150 ? PAD.l : PAD.l + size + 8, h - 6);
  return drawn;
}
