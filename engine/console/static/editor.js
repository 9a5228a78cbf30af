// The stream editor (configuration admins): one entry of the platform/push-service document as
// JSON, saved with the configuration PATCH; the API's validation error is shown under the field.
// The projection preview runs the server's compiled code (POST /console/api/preview).
import { $, el, session, api, errorText, tenantQuery, withQuery, pretty, sampleEvent, markError, isCore, CONFIG_PATH } from "./common.js";

let doc = {}; // the addressed document (tenant's own, or core for core users without a tenant)
let wanted = ""; // stream to select once the document is loaded

// TEMPLATE is the README quick start's stream: "New stream" then "Save" creates it.
const TEMPLATE = {
  id: "orders",
  name: "Orders",
  description: "",
  publicSubscribe: false,
  subscriberRoles: [],
  events: [{ namespace: "shop", name: "order-placed", map: { orderId: "payload.id" } }],
};

export function initEditor() {
  $("editor-select").addEventListener("change", () => pick($("editor-select").value));
  $("editor-new").addEventListener("click", () => {
    $("editor-select").value = "";
    load(TEMPLATE);
  });
  $("editor-save").addEventListener("click", save);
  $("editor-preview").addEventListener("click", preview);
  $("editor-publish").addEventListener("click", publish);
  $("editor-json").addEventListener("input", () => markError($("editor-json"), ""));
  $("editor-event").addEventListener("input", () => markError($("editor-event"), ""));
}

// editStream opens id in the editor (from a stream card).
export function editStream(id) {
  wanted = id;
}

export async function showEditor() {
  const scope = session.tenant ? `tenant ${session.tenant}` : isCore() ? "the core document" : "your tenant";
  $("editor-scope").textContent = `Editing ${scope}: PATCH ${CONFIG_PATH}. Core streams can only be edited by core users.`;
  const r = await api("GET", withQuery(CONFIG_PATH + "/latest", tenantQuery("tenantId")));
  if (r.status !== 200) {
    markError($("editor-json"), "Cannot read the configuration: " + errorText(r));
    return;
  }
  doc = r.data || {};
  const ids = Object.keys(doc).filter((k) => k !== "webhooks" && doc[k] && typeof doc[k] === "object").sort();
  const sel = $("editor-select");
  const keep = wanted || sel.value;
  sel.replaceChildren(el("option", { value: "", text: "(new stream)" }), ...ids.map((id) => el("option", { value: id, text: id })));
  if (wanted && !ids.includes(wanted)) {
    // A core stream seen from a tenant: start from its definition as a new tenant stream.
    const s = session.streams[wanted];
    wanted = "";
    load(s ? strip(s) : TEMPLATE);
    return;
  }
  wanted = "";
  if (keep && ids.includes(keep)) {
    sel.value = keep;
    pick(keep);
  } else if (!$("editor-json").value) {
    sel.value = ids[0] || "";
    if (ids[0]) pick(ids[0]);
    else load(TEMPLATE);
  }
}

function strip(s) {
  const out = { id: s.id, name: s.name, description: s.description, publicSubscribe: s.publicSubscribe, subscriberRoles: s.subscriberRoles, events: s.events };
  return JSON.parse(JSON.stringify(out));
}

function pick(id) {
  load(id ? doc[id] : TEMPLATE);
}

function load(def) {
  $("editor-json").value = pretty(def);
  $("editor-event").value = pretty(sampleEvent(def));
  markError($("editor-json"), "");
  markError($("editor-event"), "");
  $("editor-saved").textContent = "";
  $("editor-preview-out").textContent = "–";
}

function parseField(field) {
  try {
    const v = JSON.parse($(field).value);
    markError($(field), "");
    return v;
  } catch (e) {
    markError($(field), "Not JSON: " + e.message);
    return undefined;
  }
}

async function save() {
  $("editor-saved").textContent = "";
  const def = parseField("editor-json");
  if (def === undefined) return;
  const id = def && typeof def === "object" && typeof def.id === "string" ? def.id : "";
  if (!id) {
    markError($("editor-json"), "The definition needs a string id (it is also the document key).");
    return;
  }
  // UPDATE would merge the entry into the stored one (keys removed here would stay, role lists
  // would be concatenated), so the console sends REPLACE with the document read just before.
  const cur = await api("GET", withQuery(CONFIG_PATH + "/latest", tenantQuery("tenantId")));
  if (cur.status !== 200) {
    markError($("editor-json"), "Cannot read the configuration: " + errorText(cur));
    return;
  }
  const next = Object.assign({}, cur.data || {}, { [id]: def });
  const r = await api("PATCH", withQuery(CONFIG_PATH, tenantQuery("tenantId")), { operation: "REPLACE", configuration: next });
  if (r.status !== 200) {
    markError($("editor-json"), errorText(r));
    return;
  }
  markError($("editor-json"), "");
  doc = next;
  $("editor-saved").textContent = `saved, revision ${r.data && r.data.latest ? r.data.latest.revision : "?"}`;
  if (![...$("editor-select").options].some((o) => o.value === id)) $("editor-select").append(el("option", { value: id, text: id }));
  $("editor-select").value = id;
  session.streams = {}; // the streams page reloads
}

async function preview() {
  const stream = parseField("editor-json");
  const event = parseField("editor-event");
  if (stream === undefined || event === undefined) return;
  const out = $("editor-preview-out");
  const r = await api("POST", "/console/api/preview", { stream, event });
  if (r.status !== 200) {
    const msg = errorText(r);
    markError($(msg.startsWith("event:") ? "editor-event" : "editor-json"), msg);
    out.textContent = "–";
    out.classList.add("muted");
    return;
  }
  out.classList.toggle("muted", !r.data.matched);
  out.textContent = r.data.matched ? pretty(r.data.item) : "No match: no events[] entry of this stream matches the sample (namespace, name and criteria).";
}

async function publish() {
  $("editor-published").textContent = "";
  const event = parseField("editor-event");
  if (event === undefined) return;
  const r = await api("POST", "/event/v1/events", event);
  if (r.status !== 200) markError($("editor-event"), errorText(r));
  else $("editor-published").textContent = "published, id " + r.data.id;
}
