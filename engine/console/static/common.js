// Shared state and helpers of the console: the signed-in token, fetch wrappers, DOM helpers.

export const ROLE_CONFIG_ADMIN = "urn:ads:platform:configuration-service:configuration-admin";
export const ROLE_CONFIGURED_SERVICE = "urn:ads:platform:configuration-service:configured-service";
export const CONFIG_PATH = "/configuration/v2/configuration/platform/push-service";

export const session = {
  token: "",
  claims: null,
  realm: "",
  roles: [],
  tenant: "", // the tenant reference the pages address ("" = the token's own)
  streams: {}, // last streams list, by id
};

export const $ = (id) => document.getElementById(id);

// el builds an element: el("li", {class: "x", text: "…"}, child, …).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

// decodeToken reads a JWT's claims for display (the server verifies; this never does).
export function decodeToken(token) {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT (expected three dot-separated parts)");
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

export function rolesOf(claims) {
  const out = [...((claims.realm_access && claims.realm_access.roles) || [])];
  for (const [client, v] of Object.entries(claims.resource_access || {})) {
    for (const r of v.roles || []) out.push(client + ":" + r);
  }
  return out;
}

export function hasRole(...roles) {
  return roles.some((r) => session.roles.includes(r));
}

export function isCore() {
  return session.realm === "core";
}

// api calls a REST route with the session's bearer token and returns {status, data}; data is the
// parsed JSON body (or null). It never throws for HTTP errors.
export async function api(method, path, body) {
  const headers = {};
  if (session.token) headers.Authorization = "Bearer " + session.token;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    return { status: 0, data: { errorMessage: "Network error: " + err.message } };
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { errorMessage: text };
    }
  }
  return { status: res.status, data };
}

export function errorText(r) {
  if (r.data && r.data.errorMessage) return r.data.errorMessage + (r.status ? ` (${r.status})` : "");
  return "HTTP " + r.status;
}

// tenantQuery is "tenant=<ref>" (or the given key) for the addressed tenant, "" for the token's own.
export function tenantQuery(key = "tenant") {
  return session.tenant ? key + "=" + encodeURIComponent(session.tenant) : "";
}

export function withQuery(path, ...parts) {
  const q = parts.filter(Boolean).join("&");
  return q ? path + "?" + q : path;
}

export function pretty(v) {
  return JSON.stringify(v, null, 2);
}

export function clock(d = new Date()) {
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

// sampleEvent is an ingest body for the first event type of a stream definition.
export function sampleEvent(def) {
  const e = (def && def.events && def.events[0]) || { namespace: "shop", name: "order-placed" };
  const ev = { namespace: e.namespace, name: e.name, timestamp: new Date().toISOString() };
  if (isCore() && session.tenant) ev.tenantId = session.tenant;
  const c = e.criteria || {};
  if (c.correlationId) ev.correlationId = c.correlationId;
  ev.context = Object.assign({}, c.context || {});
  ev.payload = { id: 42, note: "sent from the console" };
  return ev;
}

// markError shows msg next to a field (the error element named by aria-describedby).
export function markError(field, msg) {
  const out = $(field.getAttribute("aria-describedby"));
  field.classList.toggle("invalid", !!msg);
  if (msg) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
  if (out) out.textContent = msg || "";
}
