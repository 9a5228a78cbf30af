// The status view: GET /console/api/status every two seconds while visible; rates are the
// difference of two readings over their time difference.
import { $, api, errorText } from "./common.js";
import { drawPlot } from "./plot.js";

const PERIOD_MS = 2000;
const POINTS = 30; // one minute

let timer = null;
let prev = null;
const series = [];

export function initStatus() {}

export function showStatus() {
  if (timer) return;
  poll();
  timer = setInterval(poll, PERIOD_MS);
}

export function hideStatus() {
  clearInterval(timer);
  timer = null;
}

function fmt(n) {
  return Number.isInteger(n) ? n.toLocaleString("en") : n.toFixed(1);
}

async function poll() {
  const r = await api("GET", "/console/api/status");
  if (r.status !== 200) {
    $("status-error").textContent = errorText(r);
    return;
  }
  $("status-error").textContent = "";
  const s = r.data;
  $("st-connections").textContent = fmt(s.connections);
  $("st-subscriptions").textContent = fmt(s.subscriptions);
  $("st-sse").textContent = fmt(s.sseStreams);
  $("st-slow").textContent = fmt(s.slowConsumerCloses);
  $("st-wto").textContent = fmt(s.writeTimeoutCloses);
  $("st-queued").textContent = fmt(s.queuedBytes);
  if (prev && s.time > prev.time) {
    const dt = (s.time - prev.time) / 1000;
    const dr = Math.max(0, s.deliveries - prev.deliveries) / dt;
    const er = Math.max(0, s.events - prev.events) / dt;
    $("st-deliveries-rate").textContent = fmt(Math.round(dr * 10) / 10);
    $("st-events-rate").textContent = fmt(Math.round(er * 10) / 10);
    series.push(dr);
    while (series.length > POINTS) series.shift();
  }
  prev = s;
  // A fixed one-minute axis: the newest reading at the right edge, zeros before the first.
  drawPlot($("status-plot"), new Array(POINTS - series.length).fill(0).concat(series));
  $("status-updated").textContent = "updated " + new Date(s.time).toLocaleTimeString([], { hour12: false });
}
