// The streams view: GET /stream/v1/streams for the addressed tenant, each stream with its events,
// criteria and projection, and a subscribe form.
import { $, el, session, api, errorText, tenantQuery, withQuery, pretty, hasRole, ROLE_CONFIG_ADMIN, ROLE_CONFIGURED_SERVICE } from "./common.js";
import { subscribe } from "./live.js";
import { editStream } from "./editor.js";

let navigate = () => {};

export function initStreams(go) {
  navigate = go;
  $("tenant-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    session.tenant = $("tenant").value.trim();
    loadStreams();
  });
}

export async function loadStreams() {
  const list = $("streams-list");
  $("streams-error").textContent = "";
  const r = await api("GET", withQuery("/stream/v1/streams", tenantQuery()));
  if (r.status !== 200) {
    session.streams = {};
    list.replaceChildren();
    $("streams-error").textContent = errorText(r);
    return;
  }
  session.streams = r.data || {};
  const ids = Object.keys(session.streams).sort();
  if (!ids.length) {
    list.replaceChildren(el("p", { class: "muted", text: "No stream this token may subscribe to in this tenant." }));
    return;
  }
  list.replaceChildren(...ids.map((id) => card(session.streams[id])));
}

function card(s) {
  const rows = (s.events || []).map((e) =>
    el("tr", {},
      el("td", {}, el("code", { text: `${e.namespace}:${e.name}` })),
      el("td", {}, e.criteria ? el("code", { text: JSON.stringify(e.criteria) }) : el("span", { class: "muted", text: "–" })),
      el("td", {}, e.map && Object.keys(e.map).length ? el("code", { text: JSON.stringify(e.map) }) : el("span", { class: "muted", text: "whole event" })),
    ),
  );
  const criteria = el("input", { placeholder: '{"context":{"k":"v"}}', autocomplete: "off", spellcheck: "false", "aria-label": "criteria" });
  const err = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "subscribe" },
    el("label", {}, "Criteria (optional JSON)", criteria),
    err,
    el("div", { class: "buttons" },
      el("button", { type: "submit", "data-stream": s.id, text: "Subscribe" }),
      hasRole(ROLE_CONFIG_ADMIN, ROLE_CONFIGURED_SERVICE)
        ? el("button", { type: "button", class: "secondary", text: "Edit", onclick: () => { editStream(s.id); navigate("editor"); } })
        : null,
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const c = criteria.value.trim();
    if (c) {
      try {
        JSON.parse(c);
      } catch (e) {
        err.textContent = "Criteria is not JSON: " + e.message;
        return;
      }
    }
    err.textContent = "";
    subscribe(s, c);
    navigate("live");
  });
  const tags = [
    s.publicSubscribe ? el("span", { class: "tag public", text: "public" }) : null,
    ...(s.subscriberRoles || []).map((r) => el("span", { class: "tag", text: r })),
  ];
  return el("article", { class: "card stream", "data-stream": s.id },
    el("h3", {}, el("span", { text: s.name || s.id }), el("span", { class: "id", text: s.id })),
    s.description ? el("p", { class: "muted small", text: s.description }) : null,
    el("div", { class: "tags" }, ...tags),
    el("table", { class: "entries" },
      el("thead", {}, el("tr", {}, el("th", { text: "event" }), el("th", { text: "criteria" }), el("th", { text: "projection" }))),
      el("tbody", {}, ...rows),
    ),
    el("details", {}, el("summary", { class: "small muted", text: "JSON" }), el("pre", { class: "json", text: pretty(s) })),
    form,
  );
}
