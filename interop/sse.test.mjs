// Product end-to-end tests of pushgate's Server-Sent Events route (GET /stream/v1/streams/:stream)
// with the npm `eventsource` 3.x package for streaming, plain fetch for error statuses and raw
// stream bytes, plus the ingest route's validation.
//
// Run by interop/product_test.go, which starts `pushgate serve --sse-heartbeat 500ms` and writes the
// fixture file named by PUSHGATE_FIXTURE (see product.test.mjs for its shape).

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { EventSource } from "eventsource";

import { FX, BASE, DEMO, ACME, DEMO_TOKEN, ACME_TOKEN, CORE_TOKEN, QS_ROLES, CONFIG, T, mint, sign, claims, forgedTokens, awaitable } from "./fixture.mjs";
const HEARTBEAT_MS = FX.timings.sseHeartbeatMs;

// ---------------------------------------------------------------------------------------------
// REST helpers

async function http(method, path, { token, body, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const res = await fetch(BASE + path, { method, headers: h, body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

async function patch(token, body) {
  const r = await http("PATCH", CONFIG, { token, body });
  assert.equal(r.status, 200, `PATCH ${JSON.stringify(body)}: ${r.status} ${r.text}`);
  return r.json;
}

async function publish(token, ev) {
  const r = await http("POST", "/event/v1/events", { token, body: { timestamp: "2026-01-01T00:00:00Z", payload: {}, ...ev } });
  assert.equal(r.status, 200, `publish ${JSON.stringify(ev)}: ${r.status} ${r.text}`);
  assert.match(r.json.id, /^\d+-\d+$/);
  return r.json.id;
}

async function waitListed(token, tenant, id, pred = (s) => s !== undefined, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await http("GET", `/stream/v1/streams?tenant=${encodeURIComponent(tenant)}`, { token });
    if (r.status === 200 && pred(r.json[id])) return r.json[id];
    if (Date.now() > deadline) throw new Error(`stream ${id} in ${tenant}: condition not met within ${ms} ms: ${r.status} ${r.text}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function createStream(token, stream, listTenant = "demo") {
  await patch(token, { operation: "UPDATE", update: { [stream.id]: { name: stream.id, ...stream } } });
  await waitListed(token, listTenant, stream.id);
}

const uid = () => crypto.randomBytes(4).toString("hex");

// ---------------------------------------------------------------------------------------------
// EventSource helpers

/**
 * Opens an EventSource (npm eventsource 3.x) on path; token and lastEventId go in headers through the
 * fetch option. Records message / reset / close events; closed when the test ends.
 */
function sse(t, path, { token, lastEventId, reconnect = false } = {}) {
  const src = new EventSource(BASE + path, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          ...init.headers,
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(lastEventId ? { "Last-Event-ID": lastEventId } : {}),
        },
      }),
  });
  const { items, push: add, until } = awaitable();
  const push = (type) => (e) => add({ type, id: e.lastEventId, data: JSON.parse(e.data) });
  src.onmessage = push("message");
  src.addEventListener("reset", push("reset"));
  src.addEventListener("close", (e) => {
    push("close")(e);
    if (!reconnect) src.close();
  });
  t.after(() => src.close());
  const opened = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`EventSource ${path}: not open within 5 s`)), 5000);
    src.onopen = () => (clearTimeout(timer), resolve());
    src.onerror = (e) => {
      if (src.readyState !== EventSource.OPEN) {
        clearTimeout(timer);
        reject(new Error(`EventSource ${path}: error ${e?.code ?? ""} ${e?.message ?? ""}`));
      }
    };
  });
  return { src, items, opened, until, count: (n, ms) => until((l) => l.length >= n, ms, `${n} SSE events`) };
}

async function openSSE(t, path, opts) {
  const s = sse(t, path, opts);
  await s.opened;
  return s;
}

/** Raw streaming fetch: collects the body text; waitText resolves when pred(text) holds. */
async function rawSSE(t, path, headers = {}) {
  const ctl = new AbortController();
  t.after(() => ctl.abort());
  const res = await fetch(BASE + path, { headers, signal: ctl.signal });
  const state = { res, text: "", openedAt: Date.now(), chunks: [] };
  let waiters = [];
  (async () => {
    const dec = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        state.text += dec.decode(chunk, { stream: true });
        state.chunks.push([Date.now(), state.text.length]);
        for (const w of waiters) w();
      }
    } catch {
      /* aborted */
    }
  })();
  state.waitText = (pred, ms = 5000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (pred(state.text)) {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== check);
          resolve(Date.now());
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => reject(new Error(`raw SSE: not seen within ${ms} ms; got ${JSON.stringify(state.text)}`)), ms);
      if (!check()) waiters.push(check);
    });
  state.abort = () => ctl.abort();
  return state;
}

// ---------------------------------------------------------------------------------------------

describe("README quick start over SSE", () => {
  test("curl -N -H 'Authorization: Bearer $TOKEN' …/stream/v1/streams/orders gets id + data", T, async (t) => {
    await patch(DEMO_TOKEN, {
      operation: "UPDATE",
      update: {
        orders: {
          id: "orders",
          name: "Orders",
          publicSubscribe: false,
          subscriberRoles: [],
          events: [{ namespace: "shop", name: "order-placed", map: { orderId: "payload.id" } }],
        },
      },
    });
    await waitListed(DEMO_TOKEN, "demo", "orders");
    // the raw bytes, as curl prints them
    const raw = await rawSSE(t, "/stream/v1/streams/orders", { Authorization: `Bearer ${DEMO_TOKEN}` });
    assert.equal(raw.res.status, 200);
    assert.match(raw.res.headers.get("content-type"), /^text\/event-stream/);
    assert.equal(raw.res.headers.get("cache-control"), "no-cache");
    await raw.waitText((s) => s.startsWith("retry: "));
    const es = await openSSE(t, "/stream/v1/streams/orders", { token: DEMO_TOKEN });
    const id = await publish(DEMO_TOKEN, { namespace: "shop", name: "order-placed", timestamp: "2026-01-01T00:00:00Z", payload: { id: 42 } });
    const want = { tenantId: DEMO.id, namespace: "shop", name: "order-placed", orderId: 42 };
    await es.until((l) => l.some((i) => i.id === id), 5000, `event ${id}`);
    const got = es.items.find((i) => i.id === id);
    assert.equal(got.type, "message");
    assert.deepEqual(got.data, want);
    await raw.waitText((s) => s.includes(`id: ${id}\n`));
    const rec = raw.text.slice(raw.text.indexOf(`id: ${id}\n`)).split("\n\n")[0];
    assert.equal(rec, `id: ${id}\ndata: ${JSON.stringify(want)}`);
    assert.match(raw.text, /^retry: \d+\n\n/);
  });
});

describe("SSE errors before streaming", () => {
  test("400, 401, 403, 404 with {errorMessage}", T, async () => {
    const id = `sseerr-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: "sseerr", name: "e" }] });
    const noRole = mint({ tenant: "demo", roles: "urn:ads:platform:event-service:event-sender", sub: "u-1", name: "Nobody" });
    const cases = [
      ["no tenant (anonymous)", `/stream/v1/streams/${id}`, {}, 400, "No tenant specified for request."],
      ["bad criteria JSON", `/stream/v1/streams/${id}?criteria=${encodeURIComponent("{bad")}`, { token: DEMO_TOKEN }, 400, /criteria/i],
      ["criteria not an object", `/stream/v1/streams/${id}?criteria=${encodeURIComponent("[1]")}`, { token: DEMO_TOKEN }, 400, /criteria/i],
      ["bad token", `/stream/v1/streams/${id}`, { token: "garbage" }, 401, "User not authorized to connect."],
      ["bad token in query", `/stream/v1/streams/${id}?token=garbage`, {}, 401, "User not authorized to connect."],
      ["Authorization not Bearer", `/stream/v1/streams/${id}`, { headers: { Authorization: "Basic Zm9vOmJhcg==" } }, 401, "User not authorized to connect."],
      ["not permitted", `/stream/v1/streams/${id}`, { token: noRole }, 403, "User Nobody (ID: u-1) not permitted to connect stream."],
      ["unknown stream", `/stream/v1/streams/nope-${id}`, { token: DEMO_TOKEN }, 404, `stream with ID 'nope-${id}' could not be found.`],
      ["unknown tenant", `/stream/v1/streams/${id}?tenant=no-such-tenant`, { token: DEMO_TOKEN }, 404, /Tenant 'no-such-tenant'/],
      ["other tenant's private stream", `/stream/v1/streams/${id}?tenant=acme-corp`, { token: DEMO_TOKEN }, 404, /could not be found/],
    ];
    for (const [what, path, opts, status, msg] of cases) {
      const r = await http("GET", path, opts);
      assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
      assert.match(r.headers.get("content-type"), /^application\/json/, what);
      assert.equal(typeof r.json?.errorMessage, "string", `${what}: ${r.text}`);
      if (typeof msg === "string") assert.equal(r.json.errorMessage, msg, what);
      else assert.match(r.json.errorMessage, msg, what);
      if (status === 401) assert.ok(r.headers.get("www-authenticate"), `${what}: WWW-Authenticate`);
    }
  });

  test("every bad token kind is 401 (header and query); a correctly forged one streams", T, async (t) => {
    const id = `ssetok-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: "ssetok", name: "e" }] });
    const { valid, bad } = forgedTokens();
    await openSSE(t, `/stream/v1/streams/${id}`, { token: valid });
    for (const [kind, token] of Object.entries(bad)) {
      for (const [via, opts, q] of [
        ["header", { token }, ""],
        ["query", {}, `?token=${encodeURIComponent(token)}`],
        ["header + tenant", { token }, "?tenant=demo"],
      ]) {
        const r = await http("GET", `/stream/v1/streams/${id}${q}`, opts);
        assert.equal(r.status, 401, `${kind} via ${via}: ${r.status} ${r.text}`);
        assert.deepEqual(r.json, { errorMessage: "User not authorized to connect." }, `${kind} via ${via}`);
      }
    }
  });
});

describe("SSE streaming", () => {
  test("token via the token query parameter; the Authorization header wins over it", T, async (t) => {
    const ns = `sseq-${uid()}`;
    const id = `sseq-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }] });
    const q = await openSSE(t, `/stream/v1/streams/${id}?token=${encodeURIComponent(DEMO_TOKEN)}`);
    const h = await openSSE(t, `/stream/v1/streams/${id}?token=garbage`, { token: DEMO_TOKEN });
    const evId = await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n: 1 } });
    for (const s of [q, h]) {
      await s.count(1);
      assert.equal(s.items[0].id, evId);
      assert.deepEqual(s.items[0].data.payload, { n: 1 });
    }
  });

  test("anonymous on a public stream with ?tenant=", T, async (t) => {
    const ns = `ssepub-${uid()}`;
    const id = `ssepub-${uid()}`;
    await createStream(DEMO_TOKEN, { id, publicSubscribe: true, events: [{ namespace: ns, name: "e" }] });
    const anon = await openSSE(t, `/stream/v1/streams/${id}?tenant=demo`);
    await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n: 1 } });
    await anon.count(1);
    assert.equal(anon.items[0].data.tenantId, DEMO.id);
  });

  test("tenant isolation over SSE; tenant= by slug, name, bare id and URN", T, async (t) => {
    const ns = `sseiso-${uid()}`;
    const id = `sseiso-${uid()}`;
    const stream = { id, events: [{ namespace: ns, name: "e" }] };
    await createStream(DEMO_TOKEN, stream);
    await createStream(ACME_TOKEN, stream, "acme-corp");
    const demo = await openSSE(t, `/stream/v1/streams/${id}`, { token: DEMO_TOKEN });
    const acme = await openSSE(t, `/stream/v1/streams/${id}`, { token: ACME_TOKEN });
    const hex = ACME.id.split("/").pop();
    const refs = [];
    for (const ref of ["acme-corp", "Acme Corp", hex, ACME.id]) {
      refs.push(await openSSE(t, `/stream/v1/streams/${id}?tenant=${encodeURIComponent(ref)}`, { token: ACME_TOKEN }));
    }
    // a demo token naming acme: forbidden, never silently its own tenant
    const cross = await http("GET", `/stream/v1/streams/${id}?tenant=acme-corp`, { token: DEMO_TOKEN });
    assert.equal(cross.status, 403, cross.text);
    for (let i = 0; i < 3; i++) {
      await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { from: "demo", i } });
      await publish(ACME_TOKEN, { namespace: ns, name: "e", payload: { from: "acme", i } });
    }
    await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { from: "demo", i: 3 } });
    await demo.count(4);
    await acme.count(3);
    assert.deepEqual(demo.items.map((x) => x.data.payload), [0, 1, 2, 3].map((i) => ({ from: "demo", i })));
    assert.deepEqual(acme.items.map((x) => x.data.payload), [0, 1, 2].map((i) => ({ from: "acme", i })));
    assert.ok(demo.items.every((x) => x.data.tenantId === DEMO.id));
    assert.ok(acme.items.every((x) => x.data.tenantId === ACME.id));
    for (const r of refs) {
      await r.count(3);
      assert.deepEqual(r.items.map((x) => x.data.payload.from), ["acme", "acme", "acme"]);
    }
  });

  test("subscriber criteria query", T, async (t) => {
    const ns = `ssecrit-${uid()}`;
    const id = `ssecrit-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }] });
    const c = await openSSE(t, `/stream/v1/streams/${id}?criteria=${encodeURIComponent(JSON.stringify({ context: { k: 1 } }))}`, { token: DEMO_TOKEN });
    const all = await openSSE(t, `/stream/v1/streams/${id}`, { token: DEMO_TOKEN });
    for (const [n, k] of [[1, 1], [2, "1"], [3, 2], [4, 1]]) await publish(DEMO_TOKEN, { namespace: ns, name: "e", context: { k }, payload: { n } });
    await all.count(4);
    await c.until((l) => l.some((i) => i.data.payload.n === 4));
    assert.deepEqual(c.items.map((i) => i.data.payload.n), [1, 4]);
  });

  test("Last-Event-ID: the missed events exactly once, then live", T, async (t) => {
    const ns = `sselei-${uid()}`;
    const id = `sselei-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }] });
    const first = await openSSE(t, `/stream/v1/streams/${id}`, { token: DEMO_TOKEN });
    const ids = [];
    for (let n = 1; n <= 3; n++) ids.push(await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n } }));
    await first.count(3);
    assert.deepEqual(first.items.map((i) => i.id), ids, "id: is the event id");
    first.src.close();
    for (let n = 4; n <= 6; n++) ids.push(await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n } }));
    const again = await openSSE(t, `/stream/v1/streams/${id}`, { token: DEMO_TOKEN, lastEventId: first.items[2].id });
    await again.count(3);
    ids.push(await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n: 7 } }));
    await again.count(4);
    assert.deepEqual(again.items.map((i) => i.data.payload.n), [4, 5, 6, 7]);
    assert.deepEqual(again.items.map((i) => i.id), ids.slice(3));
    // the lastEventId query parameter works the same way
    const q = await openSSE(t, `/stream/v1/streams/${id}?lastEventId=${encodeURIComponent(ids[4])}`, { token: DEMO_TOKEN });
    await q.count(2);
    assert.deepEqual(q.items.map((i) => i.data.payload.n), [6, 7]);
  });

  test("an unknown or other-epoch Last-Event-ID: event reset {reason: history-gap}, then live", T, async (t) => {
    const ns = `ssegap-${uid()}`;
    const id = `ssegap-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }] });
    for (const last of ["1-1", "not-an-id"]) {
      const s = await openSSE(t, `/stream/v1/streams/${id}`, { token: DEMO_TOKEN, lastEventId: last });
      await s.count(1);
      assert.deepEqual(s.items[0], { type: "reset", id: "", data: { reason: "history-gap" } });
      const evId = await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { last } });
      await s.count(2);
      assert.equal(s.items[1].type, "message");
      assert.equal(s.items[1].id, evId);
      assert.deepEqual(s.items[1].data.payload, { last });
      s.src.close();
    }
  });

  test(`heartbeat comment within 2x the heartbeat (${HEARTBEAT_MS} ms)`, T, async (t) => {
    const id = `ssehb-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: "ssehb", name: "e" }] });
    const raw = await rawSSE(t, `/stream/v1/streams/${id}`, { Authorization: `Bearer ${DEMO_TOKEN}` });
    assert.equal(raw.res.status, 200);
    const t0 = raw.openedAt;
    const t1 = await raw.waitText((s) => /(^|\n): ?heartbeat\n/.test(s), 4 * HEARTBEAT_MS);
    assert.ok(t1 - t0 <= 2 * HEARTBEAT_MS, `first heartbeat after ${t1 - t0} ms`);
    const n = (raw.text.match(/\n: ?heartbeat\n/g) || []).length;
    const t2 = await raw.waitText((s) => (s.match(/\n: ?heartbeat\n/g) || []).length > n, 4 * HEARTBEAT_MS);
    assert.ok(t2 - t1 <= 2 * HEARTBEAT_MS, `second heartbeat after ${t2 - t1} ms`);
  });

  test("config DELETE ends the stream with event: close {reason: stream-deleted}", T, async (t) => {
    const id = `ssedel-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: "ssedel", name: "e" }] });
    const s = await openSSE(t, `/stream/v1/streams/${id}`, { token: DEMO_TOKEN });
    const raw = await rawSSE(t, `/stream/v1/streams/${id}`, { Authorization: `Bearer ${DEMO_TOKEN}` });
    await raw.waitText((x) => x.startsWith("retry:"));
    await patch(DEMO_TOKEN, { operation: "DELETE", property: id });
    await s.until((l) => l.some((i) => i.type === "close"));
    assert.deepEqual(s.items.at(-1), { type: "close", id: "", data: { reason: "stream-deleted" } });
    await raw.waitText((x) => x.includes('event: close\ndata: {"reason":"stream-deleted"}\n\n'));
    const r = await http("GET", `/stream/v1/streams/${id}`, { token: DEMO_TOKEN });
    assert.equal(r.status, 404);
  });

  test("token expiry ends the stream with event: close {reason: token-expired}", T, async (t) => {
    const id = `sseexp-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: "sseexp", name: "e" }] });
    const s = await openSSE(t, `/stream/v1/streams/${id}`, { token: mint({ tenant: "demo", roles: "stream-listener", ttl: "2s" }) });
    await s.until((l) => l.some((i) => i.type === "close"), 6000, "close");
    assert.deepEqual(s.items.at(-1).data, { reason: "token-expired" });
  });

  test("50 SSE subscribers x 20 events: each exactly once, in order", { timeout: 60_000 }, async (t) => {
    const ns = `ssefan-${uid()}`;
    const id = `ssefan-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }] });
    const subs = await Promise.all(Array.from({ length: 50 }, () => openSSE(t, `/stream/v1/streams/${id}`, { token: DEMO_TOKEN })));
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { i } }));
    const endId = await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { i: "end" } });
    await Promise.all(subs.map((s) => s.until((l) => l.some((x) => x.id === endId), 20_000, "end")));
    for (const [k, s] of subs.entries()) {
      assert.deepEqual(s.items.map((x) => x.id), [...ids, endId], `subscriber ${k}`);
      assert.deepEqual(s.items.slice(0, 20).map((x) => x.data.payload.i), [...Array(20).keys()], `subscriber ${k}`);
    }
  });
});

describe("ingest validation", () => {
  test("malformed bodies are 400 with errorMessage; > 1 MiB is 413", T, async () => {
    const ok = { namespace: "ing", name: "e", timestamp: "2026-01-01T00:00:00Z", payload: {} };
    const { namespace: _n, ...noNamespace } = ok;
    const { name: _m, ...noName } = ok;
    const cases = [
      ["missing namespace", JSON.stringify(noNamespace)],
      ["missing name", JSON.stringify(noName)],
      ["bad timestamp", JSON.stringify({ ...ok, timestamp: "yesterday" })],
      ["missing timestamp", JSON.stringify({ ...ok, timestamp: undefined })],
      ["payload an array", JSON.stringify({ ...ok, payload: [1] })],
      ["payload a string", JSON.stringify({ ...ok, payload: "x" })],
      ["namespace too long", JSON.stringify({ ...ok, namespace: "n".repeat(51) })],
      ["invalid JSON", "{bad"],
      ["not an object", "[]"],
      ["empty body", ""],
    ];
    for (const [what, body] of cases) {
      const r = await http("POST", "/event/v1/events", { token: DEMO_TOKEN, body, raw: true });
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
      assert.equal(typeof r.json?.errorMessage, "string", `${what}: ${r.text}`);
      assert.ok(r.json.errorMessage.length > 0, what);
    }
    const big = JSON.stringify({ ...ok, payload: { blob: "x".repeat(1100 * 1024) } });
    const r = await http("POST", "/event/v1/events", { token: DEMO_TOKEN, body: big, raw: true });
    assert.equal(r.status, 413, r.text);
    assert.equal(typeof r.json?.errorMessage, "string");

    const anon = await http("POST", "/event/v1/events", { body: ok });
    assert.equal(anon.status, 401, anon.text);
    const noRole = await http("POST", "/event/v1/events", { token: mint({ tenant: "demo", roles: "stream-listener" }), body: ok });
    assert.equal(noRole.status, 403, noRole.text);
    const core = await http("POST", "/event/v1/events", { token: CORE_TOKEN, body: ok });
    assert.equal(core.status, 400, `core caller without tenantId: ${core.text}`);
    const unknown = await http("POST", "/event/v1/events", { token: CORE_TOKEN, body: { ...ok, tenantId: "no-such-tenant" } });
    assert.equal(unknown.status, 404, unknown.text);
  });
});
