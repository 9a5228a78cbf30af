// The webhooks view (configuration admins): each webhook with its delivery state, and for the one
// selected its recent attempts, its dead letters (replay), its signing secret (rotation) and a
// test send — all through the operator routes /push/v1/webhooks (README "Webhooks").
import { $, el, api, errorText, tenantQuery, withQuery } from "./common.js";

const BASE = "/push/v1/webhooks";
let selected = "";

export function initWebhooks() {
  $("wh-refresh").addEventListener("click", () => loadWebhooks());
}

export function showWebhooks() {
  loadWebhooks();
}

const q = (path, ...more) => withQuery(path, tenantQuery("tenantId"), ...more);

function stateOf(w) {
  if (w.disabled) return ["disabled", "bad", w.disabledReason || ""];
  if (w.circuitOpenUntil) return ["circuit open", "warn", "until " + new Date(w.circuitOpenUntil).toLocaleTimeString([], { hour12: false })];
  if (w.failingSince) return ["failing", "warn", "since " + new Date(w.failingSince).toLocaleString()];
  return ["healthy", "ok", ""];
}

export async function loadWebhooks() {
  const r = await api("GET", q(BASE));
  if (r.status !== 200) {
    $("wh-error").textContent = errorText(r);
    return;
  }
  $("wh-error").textContent = "";
  const list = r.data || [];
  $("wh-empty").hidden = list.length > 0;
  $("wh-list").replaceChildren(
    ...list.map((w) => {
      const [state, cls, why] = stateOf(w);
      const card = el(
        "article",
        { class: "card webhook" + (w.key === selected ? " selected" : ""), "data-webhook": w.key },
        el("h3", {}, el("span", { text: w.name }), " ", el("span", { class: "pill " + cls, text: state, "data-state": state })),
        el("div", { class: "muted small url", text: w.url }),
        el(
          "div",
          { class: "small" },
          el("span", { text: `pending ${w.pending}` }),
          " · ",
          el("span", { text: `in flight ${w.inFlight}` }),
          w.rateLimit ? el("span", { text: ` · ≤ ${w.rateLimit}/s` }) : null,
          w.ordered ? el("span", { text: " · ordered" }) : null,
          why ? el("span", { class: "muted", text: " · " + why }) : null,
        ),
        el(
          "div",
          { class: "buttons" },
          el("button", { type: "button", class: "wh-open", text: "Details", onclick: () => select(w.key) }),
          el("button", { type: "button", class: "wh-test", text: "Send test", onclick: () => sendTest(w.key) }),
          w.disabled ? el("button", { type: "button", class: "wh-enable", text: "Enable", onclick: () => enable(w.key) }) : null,
        ),
      );
      return card;
    }),
  );
  if (selected && !list.some((w) => w.key === selected)) selected = "";
  if (!selected && list.length) selected = list[0].key;
  if (selected) loadDetail(selected);
  $("wh-detail").hidden = !selected;
}

function select(key) {
  selected = key;
  for (const c of document.querySelectorAll("#wh-list article")) c.classList.toggle("selected", c.dataset.webhook === key);
  $("wh-secret-value").textContent = "–"; // another webhook's secret is never left on screen
  $("wh-secret-note").textContent = "";
  loadDetail(key);
  $("wh-detail").hidden = false;
}

async function loadDetail(key) {
  $("wh-detail-name").textContent = key;
  const path = BASE + "/" + encodeURIComponent(key);
  const [att, dead] = await Promise.all([api("GET", q(path + "/attempts", "limit=50")), api("GET", q(path + "/dead-letters"))]);
  if (key !== selected) return;
  if (att.status !== 200 || dead.status !== 200) {
    $("wh-detail-error").textContent = errorText(att.status !== 200 ? att : dead);
    return;
  }
  $("wh-detail-error").textContent = "";
  renderAttempts(att.data || []);
  renderDead(key, dead.data || []);
}

function renderAttempts(list) {
  $("wh-attempts-empty").hidden = list.length > 0;
  $("wh-attempts").replaceChildren(
    ...list.map((a) =>
      el(
        "tr",
        { "data-outcome": a.outcome },
        el("td", { text: new Date(a.time).toLocaleTimeString([], { hour12: false }) }),
        el("td", { class: "mono", text: a.deliveryId, title: a.deliveryId }),
        el("td", { text: String(a.attempt) }),
        el("td", {}, el("span", { class: "pill " + (a.outcome === "success" ? "ok" : "bad"), text: a.statusCode ? String(a.statusCode) : a.outcome })),
        el("td", { text: a.latencyMs.toFixed(1) + " ms" }),
        el("td", { class: "small", text: a.error || "" }),
        el("td", { class: "small mono excerpt", text: (a.response || "").slice(0, 120) }),
      ),
    ),
  );
}

function renderDead(key, list) {
  $("wh-dead-empty").hidden = list.length > 0;
  $("wh-replay-all").disabled = list.length === 0;
  $("wh-dead").replaceChildren(
    ...list.map((d) =>
      el(
        "tr",
        { "data-id": d.id },
        el("td", { class: "mono", text: d.id }),
        el("td", { text: `${d.namespace}:${d.name}` }),
        el("td", { text: new Date(d.deadAt).toLocaleString() }),
        el("td", { text: String(d.attempts) }),
        el("td", { class: "small", text: d.reason + (d.lastError ? " · " + d.lastError : "") }),
        el("td", {}, el("button", { type: "button", class: "wh-replay", text: "Replay", onclick: () => replay(key, { ids: [d.id] }) })),
      ),
    ),
  );
  $("wh-replay-all").onclick = () => replay(key, { since: "1970-01-01T00:00:00Z" });
}

async function replay(key, body) {
  const r = await api("POST", q(BASE + "/" + encodeURIComponent(key) + "/dead-letters/replay"), body);
  $("wh-action").textContent = r.status === 200 ? `replayed ${r.data.replayed.length}` : errorText(r);
  loadWebhooks();
}

async function sendTest(key) {
  const r = await api("POST", q(BASE + "/" + encodeURIComponent(key) + "/test"));
  $("wh-action").textContent = r.status === 200 ? `test sent to ${key}` : errorText(r);
  select(key);
  setTimeout(() => loadWebhooks(), 500);
}

async function enable(key) {
  const r = await api("POST", q(BASE + "/" + encodeURIComponent(key) + "/enable"));
  $("wh-action").textContent = r.status === 200 ? `${key} enabled` : errorText(r);
  loadWebhooks();
}

function showSecret(v) {
  const until = v.previousValidUntil ? " · previous secret signs until " + new Date(v.previousValidUntil).toLocaleString() : "";
  $("wh-secret-value").textContent = v.secret;
  $("wh-secret-note").textContent = (v.previous ? "rotated" : "current") + until;
}

export function initWebhookSecret() {
  $("wh-secret-show").addEventListener("click", async () => {
    const r = await api("GET", q(BASE + "/" + encodeURIComponent(selected) + "/secret"));
    if (r.status !== 200) $("wh-secret-note").textContent = errorText(r);
    else showSecret(r.data);
  });
  $("wh-secret-rotate").addEventListener("click", async () => {
    const r = await api("POST", q(BASE + "/" + encodeURIComponent(selected) + "/secret/rotate"));
    if (r.status !== 200) $("wh-secret-note").textContent = errorText(r);
    else showSecret(r.data);
  });
}
