// The live view: one SSE subscription through the browser's EventSource (it reconnects by itself
// and sends Last-Event-ID), events as they arrive, pause/clear, a rate and a one-minute plot,
// "history gap" on `event: reset` and the server's `event: close` reasons.
import { $, el, session, api, errorText, tenantQuery, withQuery, pretty, clock, sampleEvent, hasRole } from "./common.js";
import { drawPlot, Seconds } from "./plot.js";

const MAX_EVENTS = 300;
const MAX_NOTICES = 20;

let es = null; // the EventSource
let current = null; // {stream, criteria, url}
let opened = false; // the current EventSource was open at least once
let lastId = "";
let count = 0;
let paused = false;
let held = []; // events received while paused
const seconds = new Seconds(60);

export function initLive() {
  $("live-pause").addEventListener("click", () => setPaused(!paused));
  $("live-clear").addEventListener("click", () => {
    $("live-events").replaceChildren();
    $("live-notices").replaceChildren();
    held = [];
    updateEmpty();
  });
  $("live-stop").addEventListener("click", () => {
    stopLive();
    notice("reconnect", "Disconnected.");
  });
  $("live-publish-btn").addEventListener("click", publishFromLive);
  setInterval(tick, 1000);
  tick();
}

// subscribe opens an EventSource on /stream/v1/streams/<id>?tenant=&token=&criteria= (EventSource
// cannot send an Authorization header; the server never logs the token).
export function subscribe(stream, criteria) {
  stopLive();
  const url = withQuery(
    "/stream/v1/streams/" + encodeURIComponent(stream.id),
    tenantQuery(),
    "token=" + encodeURIComponent(session.token),
    criteria ? "criteria=" + encodeURIComponent(criteria) : "",
  );
  current = { stream, criteria, url };
  lastId = "";
  count = 0;
  $("live-count").textContent = "0";
  $("live-last-id").textContent = "–";
  $("live-stream").textContent = stream.id + (criteria ? " · " + criteria : "");
  $("live-events").replaceChildren();
  $("live-notices").replaceChildren();
  $("live-publish").hidden = !hasRole("urn:ads:platform:event-service:event-sender");
  $("live-event").value = pretty(sampleEvent(stream));
  $("live-pause").disabled = false;
  $("live-stop").disabled = false;
  setPaused(false);
  open();
}

function open() {
  opened = false;
  setState("connecting", "connecting");
  es = new EventSource(current.url);
  es.onopen = () => {
    const again = opened || lastId !== "";
    opened = true;
    setState("open", "open");
    if (again) notice("reconnect", lastId ? `Reconnected; the browser sent Last-Event-ID ${lastId}.` : "Reconnected.");
  };
  es.onmessage = (e) => onItem(e);
  es.addEventListener("reset", (e) => {
    const reason = parseReason(e.data);
    notice("gap", `History gap (${reason}): events published while you were away may be missing; reload your state.`);
  });
  es.addEventListener("close", (e) => {
    const reason = parseReason(e.data);
    if (reason === "shutdown") {
      notice("reconnect", "The server is shutting down (close: shutdown); reconnecting by itself.");
      return;
    }
    notice("close", `The server closed the stream: ${reason}.`);
    stopLive("closed: " + reason);
  });
  es.onerror = () => {
    if (!es) return;
    if (es.readyState === EventSource.CONNECTING) {
      setState("connecting", "reconnecting");
      if (opened) notice("reconnect", `Connection lost; reconnecting${lastId ? " with Last-Event-ID " + lastId : ""}.`);
      opened = false;
      return;
    }
    // CLOSED: the server answered with an error status; ask it why (the answer comes before
    // any streaming, so the request ends at once).
    const url = current.url;
    stopLive("closed");
    explain(url);
  };
}

async function explain(url) {
  // The same request with the token as a header; an error answer comes before any streaming,
  // a stream that opens after all is dropped at once.
  const ctl = new AbortController();
  try {
    const res = await fetch(url.replace(/([?&])token=[^&]*&?/, "$1"), { headers: { Authorization: "Bearer " + session.token }, signal: ctl.signal });
    if (res.ok) {
      ctl.abort();
      notice("close", "Connection closed.");
      return;
    }
    let msg = "HTTP " + res.status;
    try {
      msg = (await res.json()).errorMessage + ` (${res.status})`;
    } catch {
      // not JSON
    }
    notice("close", "Subscription refused: " + msg);
  } catch (err) {
    notice("close", "Connection closed: " + err.message);
  }
}

function parseReason(data) {
  try {
    return JSON.parse(data).reason || data;
  } catch {
    return data || "unknown";
  }
}

export function stopLive(state = "not subscribed") {
  if (es) {
    es.onerror = null;
    es.close();
  }
  es = null;
  setState(state.startsWith("closed") ? "closed" : "", state);
  $("live-pause").disabled = true;
  $("live-stop").disabled = true;
}

function setState(cls, text) {
  const s = $("live-state");
  s.className = "pill " + cls;
  s.textContent = text;
  $("nav-live-dot").hidden = cls !== "open";
}

function onItem(e) {
  count++;
  seconds.add();
  lastId = e.lastEventId || lastId;
  $("live-count").textContent = String(count);
  $("live-last-id").textContent = lastId || "–";
  let data;
  try {
    data = JSON.parse(e.data);
  } catch {
    data = e.data;
  }
  const item = { at: new Date(), id: e.lastEventId, data };
  if (paused) {
    held.push(item);
    if (held.length > MAX_EVENTS) held.shift();
    $("live-pause").textContent = `Resume (${held.length})`;
    return;
  }
  render(item);
}

function render(item) {
  const d = item.data;
  const type = d && d.namespace && d.name ? `${d.namespace}:${d.name}` : "message";
  const li = el("li", { "data-id": item.id, "data-type": type },
    el("div", { class: "meta" },
      el("time", { text: clock(item.at), datetime: item.at.toISOString() }),
      el("span", { class: "type", text: type }),
      el("span", { text: "id " + (item.id || "–") }),
    ),
    el("pre", { class: "json", text: typeof d === "string" ? d : pretty(d) }),
  );
  const list = $("live-events");
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  updateEmpty();
}

function setPaused(p) {
  paused = p;
  $("live-pause").textContent = p ? "Resume" : "Pause";
  if (!p) {
    for (const item of held) render(item);
    held = [];
  }
}

function notice(kind, text) {
  const list = $("live-notices");
  list.prepend(el("li", { class: kind }, el("time", { text: clock() }), text));
  while (list.children.length > MAX_NOTICES) list.lastElementChild.remove();
}

function updateEmpty() {
  $("live-empty").hidden = $("live-events").children.length > 0;
}

function tick() {
  $("live-rate").textContent = String(seconds.last());
  drawPlot($("live-plot"), seconds.values().slice(0, -1));
}

async function publishFromLive() {
  $("live-publish-error").textContent = "";
  $("live-publish-result").textContent = "";
  let body;
  try {
    body = JSON.parse($("live-event").value);
  } catch (e) {
    $("live-publish-error").textContent = "Not JSON: " + e.message;
    return;
  }
  const r = await api("POST", "/event/v1/events", body);
  if (r.status !== 200) $("live-publish-error").textContent = errorText(r);
  else $("live-publish-result").textContent = "published, id " + r.data.id;
}
