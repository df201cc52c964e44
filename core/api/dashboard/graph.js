// A throughput graph as inline SVG: bytes/s in and out over the last minute, redrawn on every poll.

const SVG = "http://www.w3.org/2000/svg";
/** Seconds of history a graph shows. */
export const WINDOW_S = 60;

function el(name, attrs = {}) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** The axis maximum: the first 1, 2 or 5 × 10ⁿ × 1024ᵏ B/s at or above `v`, at least 1 KiB/s. */
function niceMax(v) {
  for (let unit = 1024; unit <= 1024 ** 5; unit *= 1024) {
    for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) if (m * unit >= v) return m * unit;
  }
  return v;
}

/** An in/out throughput graph living in `host`. */
export class ThroughputGraph {
  /**
   * @param {HTMLElement} host the element the SVG goes into
   * @param {string} label what the graph is of, for screen readers
   * @param {number} [height] view-box height
   */
  constructor(host, label, height = 60) {
    this.label = label;
    this.w = 300;
    this.h = height;
    this.svg = el("svg", {
      viewBox: `0 0 ${this.w} ${this.h}`,
      preserveAspectRatio: "none",
      role: "img",
      class: "graph-svg",
    });
    for (const y of [0.25, 0.5, 0.75]) {
      this.svg.append(el("line", { x1: 0, x2: this.w, y1: y * this.h, y2: y * this.h, class: "grid" }));
    }
    this.inArea = el("path", { class: "area in" });
    this.outArea = el("path", { class: "area out" });
    this.inLine = el("polyline", { class: "line in", fill: "none" });
    this.outLine = el("polyline", { class: "line out", fill: "none" });
    // the latest values as dots: a zero-length line with round caps stays round in a stretched view box
    this.inDot = el("line", { class: "dot in" });
    this.outDot = el("line", { class: "dot out" });
    this.svg.append(this.inArea, this.outArea, this.inLine, this.outLine, this.inDot, this.outDot);
    this.scale = document.createElement("span");
    this.scale.className = "graph-scale";
    host.replaceChildren(this.svg, this.scale);
    this.host = host;
    this.draw([], Date.now());
  }

  /**
   * Redraws from samples `{t (ms), in, out}` (bytes/s); points older than the window fall off the left.
   * @param {{t: number, in: number, out: number}[]} samples oldest first
   * @param {number} now ms
   */
  draw(samples, now) {
    const start = now - WINDOW_S * 1000;
    const shown = samples.filter((s) => s.t >= start - 1000);
    const peak = shown.reduce((m, s) => Math.max(m, s.in, s.out), 0);
    const max = niceMax(peak);
    const x = (t) => Math.max(0, ((t - start) / (WINDOW_S * 1000)) * this.w).toFixed(1);
    const y = (v) => (this.h - (v / max) * (this.h - 2)).toFixed(1);
    const pts = (key) => shown.map((s) => `${x(s.t)},${y(s[key])}`).join(" ");
    const area = (key) =>
      shown.length < 2
        ? ""
        : `M${x(shown[0].t)},${this.h} L${pts(key).replaceAll(" ", " L")} L${x(shown[shown.length - 1].t)},${this.h} Z`;
    this.inLine.setAttribute("points", pts("in"));
    this.outLine.setAttribute("points", pts("out"));
    this.inArea.setAttribute("d", area("in"));
    this.outArea.setAttribute("d", area("out"));
    const last = shown[shown.length - 1];
    for (const [dot, key] of [[this.inDot, "in"], [this.outDot, "out"]]) {
      if (last) {
        for (const a of ["x1", "x2"]) dot.setAttribute(a, x(last.t));
        for (const a of ["y1", "y2"]) dot.setAttribute(a, y(last[key]));
      }
      dot.setAttribute("visibility", last ? "visible" : "hidden");
    }
    this.host.dataset.peak = String(Math.round(peak));
    this.host.dataset.samples = String(shown.length);
    this.scale.textContent = `${formatScale(max)} · last ${WINDOW_S}s`;
    this.svg.setAttribute(
      "aria-label",
      `${this.label}: ${last ? `in ${Math.round(last.in)} B/s, out ${Math.round(last.out)} B/s` : "no data yet"}, ` +
        `peak ${Math.round(peak)} B/s over the last ${WINDOW_S} seconds`,
    );
  }
}

function formatScale(max) {
  const units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
  let i = 0;
  while (max >= 1024 && i < units.length - 1) {
    max /= 1024;
    i++;
  }
  return `max ${Number.isInteger(max) ? max : max.toFixed(1)} ${units[i]}`;
}
