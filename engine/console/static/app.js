// The console's entry point: sign-in, navigation between the views, the signed-in header.
import { $, session, api, errorText, decodeToken, rolesOf, hasRole, ROLE_CONFIG_ADMIN, ROLE_CONFIGURED_SERVICE } from "./common.js";
import { loadStreams, initStreams } from "./streams.js";
import { initLive, stopLive } from "./live.js";
import { initEditor, showEditor } from "./editor.js";
import { initStatus, showStatus, hideStatus } from "./status.js";
import { initOperator, showConnections, canManageConnections, canReadReceipts } from "./operator.js";
import { initWebhooks, initWebhookSecret, showWebhooks } from "./webhooks.js";

const VIEWS = ["signin", "streams", "live", "editor", "webhooks", "status", "connections", "event"];
const STORAGE_KEY = "pushgate.console.token";

function show(view) {
  if (!session.token) view = "signin";
  if (!VIEWS.includes(view)) view = "streams";
  if (view === "editor" && !canEdit()) view = "streams";
  if (view === "connections" && !canManageConnections()) view = "streams";
  if (view === "event" && !canReadReceipts()) view = "streams";
  if (view === "webhooks" && !isConfigAdmin()) view = "streams";
  for (const v of VIEWS) $("view-" + v).hidden = v !== view;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
  document.body.dataset.view = view;
  if (view === "status") showStatus();
  else hideStatus();
  if (view === "editor") showEditor();
  if (view === "connections") showConnections();
  if (view === "webhooks") showWebhooks();
  if (view === "streams" && !Object.keys(session.streams).length) loadStreams();
}

function route() {
  show((location.hash || "#streams").slice(1));
}

// The webhooks view is for configuration admins (secrets are theirs only).
function isConfigAdmin() {
  return hasRole(ROLE_CONFIG_ADMIN);
}

function canEdit() {
  return hasRole(ROLE_CONFIG_ADMIN, ROLE_CONFIGURED_SERVICE);
}

// signIn checks the token with the server (the tenants list needs any valid token) and keeps it.
async function signIn(token, errorField) {
  token = token.trim();
  let claims;
  try {
    claims = decodeToken(token);
  } catch (err) {
    $(errorField).textContent = "Not a token: " + err.message;
    return false;
  }
  session.token = token;
  const r = await api("GET", "/tenant/v2/tenants");
  if (r.status !== 200) {
    session.token = "";
    $(errorField).textContent = "The server refused this token: " + errorText(r);
    return false;
  }
  $(errorField).textContent = "";
  session.claims = claims;
  session.realm = String(claims.iss || "").split("/realms/")[1] || "";
  session.roles = rolesOf(claims);
  session.tenant = session.realm === "core" ? "" : session.realm;
  session.streams = {};
  sessionStorage.setItem(STORAGE_KEY, token);
  $("tenant").value = session.tenant;
  const list = document.getElementById("tenant-names") || document.createElement("datalist");
  list.id = "tenant-names";
  list.replaceChildren(...(r.data.results || []).map((t) => new Option(t.name, t.realm || t.name)));
  document.body.append(list);
  $("tenant").setAttribute("list", "tenant-names");
  renderWho();
  return true;
}

function renderWho() {
  const c = session.claims;
  const signedIn = !!session.token;
  $("nav").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("nav-editor").hidden = !canEdit();
  $("nav-connections").hidden = !canManageConnections();
  $("nav-event").hidden = !canReadReceipts();
  $("nav-webhooks").hidden = !isConfigAdmin();
  if (!signedIn) return;
  const exp = c.exp ? new Date(c.exp * 1000).toLocaleTimeString([], { hour12: false }) : "never";
  $("who-text").textContent = `${c.name || c.preferred_username || c.sub} · realm ${session.realm} · ${session.roles.length} roles · expires ${exp}`;
  $("who-text").title = session.roles.join("\n");
}

function signOut() {
  stopLive();
  session.token = "";
  session.claims = null;
  session.roles = [];
  session.streams = {};
  sessionStorage.removeItem(STORAGE_KEY);
  renderWho();
  location.hash = "#signin";
  route();
}

async function onMint(ev) {
  ev.preventDefault();
  const roles = [...document.querySelectorAll('#mint-form input[name="role"]:checked')].map((i) => i.value);
  roles.push(...$("mint-extra").value.split(",").map((s) => s.trim()).filter(Boolean));
  const core = $("mint-core").checked;
  const body = core ? { core: true, roles } : { tenant: $("mint-tenant").value.trim(), roles };
  $("mint-submit").disabled = true;
  const r = await api("POST", "/console/api/token", body);
  $("mint-submit").disabled = false;
  if (r.status !== 200) {
    $("mint-error").textContent = errorText(r);
    return;
  }
  if (await signIn(r.data.token, "mint-error")) go("streams");
}

async function onPaste(ev) {
  ev.preventDefault();
  if (await signIn($("paste-token").value, "paste-error")) go("streams");
}

function go(view) {
  if (location.hash === "#" + view) route();
  else location.hash = "#" + view;
}

async function start() {
  const mint = document.body.dataset.mint === "on";
  $("mint-form").hidden = !mint;
  $("mint-form").addEventListener("submit", onMint);
  $("mint-core").addEventListener("change", () => ($("mint-tenant").disabled = $("mint-core").checked));
  $("paste-form").addEventListener("submit", onPaste);
  $("signout").addEventListener("click", signOut);
  initStreams(go);
  initLive();
  initEditor();
  initStatus();
  initOperator();
  initWebhooks();
  initWebhookSecret();
  window.addEventListener("hashchange", route);
  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (saved && !(await signIn(saved, "paste-error"))) sessionStorage.removeItem(STORAGE_KEY);
  route();
  document.body.dataset.ready = "true";
}

start();
