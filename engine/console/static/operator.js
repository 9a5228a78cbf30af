// The operator views: Connections (GET /push/v1/connections, filter, page, disconnect a subject)
// and Event (GET /push/v1/events/{eventId}: the delivery receipt and its trace id).
import { $, el, api, errorText, hasRole, isCore, withQuery } from "./common.js";

export const ROLE_TENANT_ADMIN = "urn:ads:platform:tenant-service:tenant-admin";
export const ROLE_PLATFORM_SERVICE = "urn:ads:platform:tenant-service:platform-service";
export const ROLE_EVENT_SENDER = "urn:ads:platform:event-service:event-sender";

export function canManageConnections() {
  return isCore() ? hasRole(ROLE_PLATFORM_SERVICE) : hasRole(ROLE_TENANT_ADMIN);
}

export function canReadReceipts() {
  return canManageConnections() || (!isCore() && hasRole(ROLE_EVENT_SENDER));
}

let cursors = [""]; // the cursor of each page shown so far

export function initOperator() {
  $("conn-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    cursors = [""];
    loadConnections();
  });
  $("conn-next").addEventListener("click", () => loadConnections(cursors[cursors.length - 1]));
  $("event-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadReceipt();
  });
}

export function showConnections() {
  cursors = [""];
  loadConnections();
}

function filterQuery() {
  const parts = [];
  for (const [k, id] of [["tenant", "conn-tenant"], ["stream", "conn-stream"], ["sub", "conn-sub"]]) {
    const v = $(id).value.trim();
    if (v) parts.push(k + "=" + encodeURIComponent(v));
  }
  return parts;
}

async function loadConnections(cursor = "") {
  const q = filterQuery();
  if (cursor) q.push("cursor=" + encodeURIComponent(cursor));
  q.push("limit=50");
  const r = await api("GET", withQuery("/push/v1/connections", ...q));
  const body = $("conn-rows");
  if (r.status !== 200) {
    $("conn-error").textContent = errorText(r);
    body.replaceChildren();
    return;
  }
  $("conn-error").textContent = "";
  const rows = r.data.connections || [];
  body.replaceChildren(...rows.map(row));
  $("conn-empty").hidden = rows.length > 0;
  $("conn-count").textContent = rows.length + (r.data.next ? "+" : "") + " shown";
  $("conn-next").hidden = !r.data.next;
  if (r.data.next) cursors.push(r.data.next);
}

function row(c) {
  const since = c.since ? new Date(c.since).toLocaleTimeString([], { hour12: false }) : "";
  const btn = el("button", { type: "button", class: "small", text: "Disconnect", onclick: () => disconnect(c) });
  return el("tr", { "data-sub": c.sub, "data-id": c.id },
    el("td", {}, el("code", { text: c.sub || "(anonymous)" }), c.name ? el("div", { class: "muted small", text: c.name }) : null),
    el("td", { text: c.stream }),
    el("td", { text: c.transport }),
    el("td", { text: c.instance }),
    el("td", { text: since, title: c.since }),
    el("td", { class: "num", text: String(c.queuedBytes || 0) }),
    el("td", {}, el("code", { class: "small", text: c.remoteAddress })),
    el("td", {}, c.sub ? btn : null));
}

async function disconnect(c) {
  const body = { sub: c.sub };
  if (isCore() && c.tenantId) body.tenant = c.tenantId;
  const r = await api("POST", "/push/v1/connections/disconnect", body);
  if (r.status !== 202) {
    $("conn-error").textContent = errorText(r);
    return;
  }
  $("conn-result").textContent = `Disconnected ${c.sub} everywhere (order ${r.data.id}).`;
  setTimeout(() => loadConnections(), 300);
}

async function loadReceipt() {
  const id = $("event-id").value.trim();
  const sub = $("event-sub").value.trim();
  if (!id) {
    $("event-error").textContent = "Paste an event id (the id ingest answered, or SSE id:).";
    return;
  }
  const r = await api("GET", withQuery("/push/v1/events/" + encodeURIComponent(id), sub ? "sub=" + encodeURIComponent(sub) : ""));
  const out = $("event-out");
  if (r.status !== 200) {
    $("event-error").textContent = errorText(r);
    out.hidden = true;
    return;
  }
  $("event-error").textContent = "";
  const d = r.data;
  out.hidden = false;
  $("ev-type").textContent = d.type;
  $("ev-trace").textContent = d.traceId || "– (no traceparent)";
  $("ev-streams").textContent = (d.streams || []).join(", ") || "none matched";
  $("ev-targeted").textContent = d.subscribers.targeted;
  $("ev-delivered").textContent = d.subscribers.delivered;
  $("ev-dropped").textContent = d.subscribers.dropped;
  $("ev-wh-queued").textContent = d.webhooks.queued;
  $("ev-wh-delivered").textContent = d.webhooks.delivered;
  $("ev-wh-dead").textContent = d.webhooks.dead;
  $("ev-instances").replaceChildren(...(d.instances || []).map((i) => el("tr", {},
    el("td", { text: i.instance }),
    el("td", { text: (i.streams || []).join(", ") }),
    el("td", { class: "num", text: String(i.subscribers.targeted) }),
    el("td", { class: "num", text: String(i.subscribers.delivered) }),
    el("td", { class: "num", text: String(i.subscribers.dropped) }),
    el("td", { text: i.fannedOutAt ? new Date(i.fannedOutAt).toISOString() : "in progress" }))));
  const subj = $("ev-subject");
  subj.hidden = !d.subject;
  if (d.subject) {
    const conns = d.subject.connections || [];
    subj.textContent = d.subject.received
      ? `${d.subject.sub} got it on ${conns.length} live connection(s): ` + conns.map((c) => `${c.transport} ${c.id} (${c.stream}, ${c.instance}) at ${c.at}`).join("; ")
      : `${d.subject.sub}: no live connection of this subject got it.`;
    subj.dataset.received = String(d.subject.received);
  }
}

