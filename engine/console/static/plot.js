// A tiny inline-SVG plot: values left (oldest) to right (newest), y from 0 to max(1, max).

const NS = "http://www.w3.org/2000/svg";

export function drawPlot(svg, values) {
  const w = 300;
  const h = 60;
  const max = Math.max(1, ...values);
  const n = Math.max(values.length - 1, 1);
  const pts = values.map((v, i) => `${((i / n) * w).toFixed(1)},${(h - 2 - (v / max) * (h - 6)).toFixed(1)}`);
  while (svg.firstChild) svg.firstChild.remove();
  const area = document.createElementNS(NS, "polygon");
  area.setAttribute("points", `0,${h} ${pts.join(" ")} ${w},${h}`);
  const line = document.createElementNS(NS, "polyline");
  line.setAttribute("points", pts.join(" "));
  const title = document.createElementNS(NS, "title");
  title.textContent = `max ${max}/s`;
  svg.append(title, area, line);
}

// Seconds keeps per-second counts for the last `size` seconds.
export class Seconds {
  constructor(size = 60) {
    this.size = size;
    this.counts = new Array(size).fill(0);
    this.at = Math.floor(Date.now() / 1000);
  }
  advance(now = Math.floor(Date.now() / 1000)) {
    const steps = Math.min(now - this.at, this.size);
    for (let i = 0; i < steps; i++) {
      this.counts.shift();
      this.counts.push(0);
    }
    if (now > this.at) this.at = now;
  }
  add(n = 1) {
    this.advance();
    this.counts[this.size - 1] += n;
  }
  // last is the count of the last complete second.
  last() {
    this.advance();
    return this.counts[this.size - 2];
  }
  values() {
    this.advance();
    return this.counts.slice();
  }
}
