// Product end-to-end tests of pushgate over Socket.IO with the real npm socket.io-client 4.8.4, in
// both transport modes (default = polling then upgrade, and websocket-only).
//
// Run by interop/product_test.go (`go test ./interop/ -run TestProductEndToEnd`), which starts
// `pushgate serve` and writes a fixture file (PUSHGATE_FIXTURE) with:
//   { url, bin, dataDir, tenants: {demo:{id,name,realm}, acme:{…"Acme Corp"…}}, tokens: {demo, acme, core}, timings }
// Tokens beyond the fixture are minted with `pushgate token` exactly as the README does; forged
// tokens (wrong aud/iss, unknown kid, alg none, HS256) are signed with node:crypto.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { io, Manager } from "socket.io-client";

import { FX, BASE, DEMO, ACME, DEMO_TOKEN, ACME_TOKEN, CORE_TOKEN, QS_ROLES, CONFIG, T, mint, sign, claims, forgedTokens, awaitable } from "./fixture.mjs";

const UNAUTHORIZED = "User not authorized to connect.";

const MODES = [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
];

// ---------------------------------------------------------------------------------------------
// REST helpers

async function http(method, path, { token, body, raw } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function patch(token, body, tenantId) {
  const q = tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : "";
  const r = await http("PATCH", CONFIG + q, { token, body });
  assert.equal(r.status, 200, `PATCH ${JSON.stringify(body)}: ${r.status} ${r.text}`);
  return r.json;
}

async function publish(token, ev) {
  const r = await http("POST", "/event/v1/events", {
    token,
    body: { timestamp: "2026-01-01T00:00:00Z", payload: {}, ...ev },
  });
  assert.equal(r.status, 200, `publish ${JSON.stringify(ev)}: ${r.status} ${r.text}`);
  return r.json.id;
}

/** Polls the streams list of tenant until pred(stream or undefined) holds (registry rebuild is async). */
async function waitListed(token, tenant, id, pred = (s) => s !== undefined, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await http("GET", `/stream/v1/streams?tenant=${encodeURIComponent(tenant)}`, { token });
    if (r.status === 200 && pred(r.json[id])) return r.json[id];
    if (Date.now() > deadline) throw new Error(`stream ${id} in ${tenant}: condition not met within ${ms} ms: ${r.status} ${r.text}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Creates (UPDATE) a stream in the token's tenant (or tenantId) and waits until it is live. */
async function createStream(token, stream, { tenantId, listTenant = "demo", listToken = token } = {}) {
  await patch(token, { operation: "UPDATE", update: { [stream.id]: { name: stream.id, ...stream } } }, tenantId);
  await waitListed(listToken, listTenant, stream.id);
}

const uid = () => crypto.randomBytes(4).toString("hex");

// ---------------------------------------------------------------------------------------------
// socket helpers

function closeSocket(socket) {
  try {
    socket.io.reconnection(false);
    socket.disconnect();
    socket.io.engine?.close();
  } catch {
    /* already closed */
  }
}

/** A socket.io-client socket closed when the test ends. */
function client(t, nsp, opts = {}) {
  const socket = io(BASE + nsp, { forceNew: true, reconnection: false, ...opts });
  t.after(() => closeSocket(socket));
  return socket;
}

/** Resolves with the first argument of event; rejects after ms or on one of failOn. */
function once(emitter, event, { ms = 5000, failOn = [] } = {}) {
  return new Promise((resolve, reject) => {
    const off = () => {
      clearTimeout(timer);
      emitter.off(event, ok);
      for (const [e, f] of fails) emitter.off(e, f);
    };
    const ok = (v) => (off(), resolve(v));
    const timer = setTimeout(() => (off(), reject(new Error(`timed out after ${ms} ms waiting for "${event}"`))), ms);
    const fails = failOn.map((e) => [
      e,
      (v) => (off(), reject(new Error(`"${e}" while waiting for "${event}": ${v?.message ?? JSON.stringify(v)} ${JSON.stringify(v?.data ?? "")}`))),
    ]);
    emitter.on(event, ok);
    for (const [e, f] of fails) emitter.on(e, f);
  });
}

const connected = (s, ms) => once(s, "connect", { ms, failOn: ["connect_error"] });
const connectError = (s, ms) => once(s, "connect_error", { ms, failOn: ["connect"] });

/** Records every event a socket receives (onAny); next()/until() await with deadlines. */
function record(socket) {
  const { items, push, until } = awaitable((l) => JSON.stringify(l.map((i) => i.event)));
  socket.onAny((event, ...args) => push({ event, item: args[0], args }));
  return { items, until, count: (n, ms) => until((l) => l.length >= n, ms, `${n} events`) };
}

/** Connects and records; fails the test on connect_error. */
async function subscribe(t, nsp, opts) {
  const s = client(t, nsp, opts);
  const rec = record(s);
  await connected(s);
  return { s, rec };
}

// ---------------------------------------------------------------------------------------------

describe("README quick start over Socket.IO", () => {
  for (const [mode, mopts] of MODES) {
    test(`io("<url>/demo", {query:{stream:"orders"}, auth:{token}}) gets shop:order-placed (${mode})`, T, async (t) => {
      const token = DEMO_TOKEN;
      await patch(token, {
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
      await waitListed(token, "demo", "orders");
      const socket = client(t, "/demo", { query: { stream: "orders" }, auth: { token }, ...mopts });
      const got = once(socket, "shop:order-placed", { ms: 8000 });
      await connected(socket);
      await publish(token, { namespace: "shop", name: "order-placed", timestamp: "2026-01-01T00:00:00Z", payload: { id: 42 } });
      const item = await got;
      assert.deepEqual(item, { tenantId: DEMO.id, namespace: "shop", name: "order-placed", orderId: 42 });
      assert.match(DEMO.id, /^urn:ads:platform:tenant-service:v2:\/tenants\/[0-9a-f]{24}$/);
    });
  }
});

describe("projection", () => {
  for (const [mode, mopts] of MODES) {
    test(`map, no map and map: {} (${mode})`, T, async (t) => {
      const ns = `proj-${uid()}`;
      const id = `proj-${uid()}`;
      await createStream(DEMO_TOKEN, {
        id,
        events: [
          { namespace: ns, name: "mapped", map: { jobId: "payload.job.id", sku: "payload.items[1].sku", at: "timestamp", gone: "payload.nope" } },
          { namespace: ns, name: "whole" },
          { namespace: ns, name: "empty-map", map: {} },
          { namespace: ns, name: "renamed", map: { name: "payload.newName" } },
        ],
      });
      const { rec } = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: DEMO_TOKEN }, ...mopts });
      const ev = {
        namespace: ns,
        timestamp: "2026-03-04T05:06:07Z",
        correlationId: "corr-1",
        context: { k: "v", n: 1 },
        payload: { job: { id: "j1" }, items: [{ sku: "a" }, { sku: "b" }], newName: "other" },
      };
      for (const name of ["mapped", "whole", "empty-map", "renamed"]) await publish(DEMO_TOKEN, { ...ev, name });
      await rec.count(4, 8000);
      const [mapped, whole, empty, renamed] = rec.items;
      assert.equal(mapped.event, `${ns}:mapped`);
      assert.deepEqual(mapped.item, {
        tenantId: DEMO.id,
        namespace: ns,
        name: "mapped",
        correlationId: "corr-1",
        context: { k: "v", n: 1 },
        jobId: "j1",
        sku: "b",
        at: "2026-03-04T05:06:07.000Z",
      });
      assert.ok(!("gone" in mapped.item) && !("payload" in mapped.item) && !("timestamp" in mapped.item));
      const wholeWant = (name) => ({
        tenantId: DEMO.id,
        namespace: ns,
        name,
        timestamp: "2026-03-04T05:06:07.000Z",
        correlationId: "corr-1",
        context: { k: "v", n: 1 },
        payload: ev.payload,
      });
      assert.equal(whole.event, `${ns}:whole`);
      assert.deepEqual(whole.item, wholeWant("whole"));
      assert.match(whole.item.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(empty.event, `${ns}:empty-map`, "map: {} is treated as no map (contract.md)");
      assert.deepEqual(empty.item, wholeWant("empty-map"));
      // A map that overwrites "name" renames the Socket.IO event (as the original).
      assert.equal(renamed.event, `${ns}:other`);
      assert.equal(renamed.item.name, "other");
    });
  }
});

describe("criteria", () => {
  for (const [mode, mopts] of MODES) {
    test(`stream criteria: context strict equality (${mode})`, T, async (t) => {
      const ns = `crit-${uid()}`;
      const id = `crit-${uid()}`;
      await createStream(DEMO_TOKEN, {
        id,
        events: [{ namespace: ns, name: "e", criteria: { context: { region: "west", n: 1 } } }],
      });
      const { rec } = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: DEMO_TOKEN }, ...mopts });
      const send = (seq, context) => publish(DEMO_TOKEN, { namespace: ns, name: "e", context, payload: { seq } });
      await send(1, { region: "east", n: 1 });
      await send(2, { region: "west", n: 1, extra: true }); // extra keys are fine
      await send(3, { region: "west", n: "1" }); // number 1 !== string "1"
      await send(4, {});
      await send(5, undefined);
      await send(6, { region: "west", n: 1 });
      await rec.until((l) => l.some((i) => i.item.payload.seq === 6), 8000, "seq 6");
      assert.deepEqual(rec.items.map((i) => i.item.payload.seq), [2, 6]);
    });

    test(`subscriber criteria: query JSON, auth.criteria object, correlationId (${mode})`, T, async (t) => {
      const ns = `scrit-${uid()}`;
      const id = `scrit-${uid()}`;
      await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }] });
      const base = { auth: { token: DEMO_TOKEN }, ...mopts };
      const q = await subscribe(t, "/demo", { ...base, query: { stream: id, criteria: JSON.stringify({ context: { k: "a" } }) } });
      const a = await subscribe(t, "/demo", { ...base, query: { stream: id }, auth: { token: DEMO_TOKEN, criteria: { context: { k: "b" } } } });
      // auth.criteria wins over the query criteria (contract.md "Tokens on connections").
      const both = await subscribe(t, "/demo", {
        ...base,
        query: { stream: id, criteria: JSON.stringify({ context: { k: "a" } }) },
        auth: { token: DEMO_TOKEN, criteria: { context: { k: "b" } } },
      });
      const c = await subscribe(t, "/demo", { ...base, query: { stream: id, criteria: JSON.stringify({ correlationId: "c-2" }) } });
      const all = await subscribe(t, "/demo", { ...base, query: { stream: id } });
      const send = (seq, context, correlationId) => publish(DEMO_TOKEN, { namespace: ns, name: "e", context, correlationId, payload: { seq } });
      await send(1, { k: "a" }, "c-1");
      await send(2, { k: "b" }, "c-2");
      await send(3, { k: "c" }, "c-3");
      await send(4, { k: "a" }, "c-2");
      await send(5, { k: "b" }, "c-9");
      await all.rec.count(5, 8000);
      const seqs = (r) => r.items.map((i) => i.item.payload.seq);
      assert.deepEqual(seqs(all.rec), [1, 2, 3, 4, 5]);
      // every subscriber has seen everything before seq 5 once seq 5 (or later) reached "all"
      await q.rec.until((l) => l.some((i) => i.item.payload.seq === 4), 5000, "seq 4 on query criteria");
      await a.rec.until((l) => l.some((i) => i.item.payload.seq === 5), 5000, "seq 5 on auth criteria");
      await both.rec.until((l) => l.some((i) => i.item.payload.seq === 5), 5000, "seq 5 on auth+query criteria");
      await c.rec.until((l) => l.some((i) => i.item.payload.seq === 4), 5000, "seq 4 on correlationId criteria");
      await send(6, { k: "z" }, "c-2"); // a marker every subscriber but q/a/both filters… c gets it
      await c.rec.until((l) => l.some((i) => i.item.payload.seq === 6), 5000, "seq 6 on correlationId");
      await all.rec.count(6, 5000);
      assert.deepEqual(seqs(q.rec), [1, 4]);
      assert.deepEqual(seqs(a.rec), [2, 5]);
      assert.deepEqual(seqs(both.rec), [2, 5]);
      assert.deepEqual(seqs(c.rec), [2, 4, 6]);
    });
  }
});

describe("tenants", () => {
  for (const [mode, mopts] of MODES) {
    test(`tenant isolation, both directions (${mode})`, T, async (t) => {
      const ns = `iso-${uid()}`;
      const id = `iso-${uid()}`;
      const stream = { id, events: [{ namespace: ns, name: "e" }] };
      await createStream(DEMO_TOKEN, stream);
      await createStream(ACME_TOKEN, stream, { listTenant: "acme-corp" });
      const demo = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: DEMO_TOKEN }, ...mopts });
      const acme = await subscribe(t, "/acme-corp", { query: { stream: id }, auth: { token: ACME_TOKEN }, ...mopts });
      // tenant users on "/" get their own tenant's streams
      const demoRoot = await subscribe(t, "/", { query: { stream: id }, auth: { token: DEMO_TOKEN }, ...mopts });
      // a tenant A token on tenant B's namespace: B's non-public stream is forbidden
      const cross = client(t, "/acme-corp", { query: { stream: id }, auth: { token: DEMO_TOKEN }, ...mopts });
      const err = await connectError(cross);
      assert.equal(err.data?.code, "forbidden");
      // publishing for another tenant is refused
      const r = await http("POST", "/event/v1/events", {
        token: DEMO_TOKEN,
        body: { namespace: ns, name: "e", timestamp: "2026-01-01T00:00:00Z", payload: {}, tenantId: ACME.id },
      });
      assert.equal(r.status, 403, r.text);

      for (let i = 0; i < 3; i++) {
        await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { from: "demo", i } });
        await publish(ACME_TOKEN, { namespace: ns, name: "e", payload: { from: "acme", i } });
      }
      await publish(CORE_TOKEN, { namespace: ns, name: "e", tenantId: ACME.id, payload: { from: "acme", i: 3 } });
      await publish(CORE_TOKEN, { namespace: ns, name: "e", tenantId: "demo", payload: { from: "demo", i: 3 } });
      await demo.rec.count(4, 8000);
      await acme.rec.count(4, 8000);
      await demoRoot.rec.count(4, 8000);
      for (const [rec, tenant, from] of [
        [demo.rec, DEMO, "demo"],
        [acme.rec, ACME, "acme"],
        [demoRoot.rec, DEMO, "demo"],
      ]) {
        assert.deepEqual(rec.items.map((x) => x.item.payload), [0, 1, 2, 3].map((i) => ({ from, i })));
        assert.ok(rec.items.every((x) => x.item.tenantId === tenant.id));
      }
    });
  }

  test("tenant namespace by slug, by name, by bare id; a wrong id is an Invalid namespace", T, async (t) => {
    const ns = `ref-${uid()}`;
    const id = `ref-${uid()}`;
    await createStream(ACME_TOKEN, { id, events: [{ namespace: ns, name: "e" }] }, { listTenant: "acme-corp" });
    const hex = ACME.id.split("/").pop();
    const opts = { query: { stream: id }, auth: { token: ACME_TOKEN } };
    const slug = await subscribe(t, "/acme-corp", opts);
    const bare = await subscribe(t, `/${hex}`, opts);
    // a namespace with a space: through the Manager, so the string goes into CONNECT unchanged
    const m = new Manager(BASE, { reconnection: false, ...opts });
    const byName = m.socket("/Acme Corp", opts);
    t.after(() => closeSocket(byName));
    const nameRec = record(byName);
    await connected(byName);
    await publish(ACME_TOKEN, { namespace: ns, name: "e", payload: { x: 1 } });
    for (const [what, rec, nsp] of [
      ["slug", slug.rec],
      ["bare id", bare.rec],
      ["name", nameRec],
    ]) {
      await rec.count(1, 5000);
      assert.equal(rec.items[0].item.tenantId, ACME.id, what);
      assert.deepEqual(rec.items[0].item.payload, { x: 1 }, what);
    }
    const wrongHex = hex.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const wrong = client(t, `/${wrongHex}`, opts);
    const err = await connectError(wrong);
    assert.equal(err.message, "Invalid namespace");
    const unknown = client(t, "/no-such-tenant", opts);
    assert.equal((await connectError(unknown)).message, "Invalid namespace");
  });
});

describe("anonymous", () => {
  for (const [mode, mopts] of MODES) {
    test(`public stream on a tenant namespace without a token; refused on "/" and on a private stream (${mode})`, T, async (t) => {
      const ns = `pub-${uid()}`;
      const id = `pub-${uid()}`;
      const priv = `priv-${uid()}`;
      await createStream(DEMO_TOKEN, { id, publicSubscribe: true, events: [{ namespace: ns, name: "e" }] });
      await createStream(DEMO_TOKEN, { id: priv, events: [{ namespace: ns, name: "e" }] });
      const anon = await subscribe(t, "/demo", { query: { stream: id }, ...mopts });
      await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n: 1 } });
      await anon.rec.count(1, 5000);
      assert.equal(anon.rec.items[0].item.tenantId, DEMO.id);

      const root = client(t, "/", { query: { stream: id }, ...mopts });
      const e1 = await connectError(root);
      assert.equal(e1.message, UNAUTHORIZED);
      assert.equal(e1.data?.code, "unauthorized");
      const p = client(t, "/demo", { query: { stream: priv }, ...mopts });
      const e2 = await connectError(p);
      assert.ok(["unauthorized", "forbidden"].includes(e2.data?.code), JSON.stringify(e2.data));
    });
  }
});

describe("token failures", () => {
  for (const [mode, mopts] of MODES) {
    test(`every bad token is refused with connect_error unauthorized and gets no events (${mode})`, T, async (t) => {
      const ns = `tok-${uid()}`;
      const id = `tok-${uid()}`;
      await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }] });
      const { valid, bad } = forgedTokens();
      // the forging itself is right: a well-formed forged token is accepted
      const good = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: valid }, ...mopts });
      const refused = [];
      for (const [kind, token] of Object.entries(bad)) {
        for (const nsp of ["/demo", "/"]) {
          const s = client(t, nsp, { query: { stream: id }, auth: { token }, ...mopts });
          const rec = record(s);
          const err = await connectError(s).catch((e) => assert.fail(`${kind} on ${nsp}: ${e.message}`));
          assert.equal(err.message, UNAUTHORIZED, `${kind} on ${nsp}`);
          assert.equal(err.data?.code, "unauthorized", `${kind} on ${nsp}`);
          refused.push([kind, s, rec]);
        }
        // the same token in the Authorization header or the token query is refused too
        for (const opts of [{ extraHeaders: { Authorization: `Bearer ${token}` } }, { query: { stream: id, token } }]) {
          const s = client(t, "/demo", { query: { stream: id }, ...opts, ...mopts });
          const err = await connectError(s);
          assert.equal(err.data?.code, "unauthorized", `${kind} via ${Object.keys(opts)[0]}`);
          refused.push([kind, s, record(s)]);
        }
      }
      await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n: 1 } });
      await good.rec.count(1, 5000);
      for (const [kind, s, rec] of refused) {
        assert.equal(s.connected, false, kind);
        assert.equal(rec.items.length, 0, `${kind} received ${JSON.stringify(rec.items)}`);
      }
    });
  }

  test("token precedence: auth.token, then Authorization header, then token query; a present bad one never falls through", T, async (t) => {
    const id = `prec-${uid()}`;
    await createStream(DEMO_TOKEN, { id, events: [{ namespace: "prec", name: "e" }] });
    const header = (tok) => ({ extraHeaders: { Authorization: `Bearer ${tok}` } });
    const cases = [
      ["auth good, header bad, query bad", { auth: { token: DEMO_TOKEN }, ...header("bad"), query: { stream: id, token: "bad" } }, true],
      ["auth bad, header good", { auth: { token: "bad" }, ...header(DEMO_TOKEN), query: { stream: id } }, false],
      ["header good, query bad", { ...header(DEMO_TOKEN), query: { stream: id, token: "bad" } }, true],
      ["header bad, query good", { ...header("bad"), query: { stream: id, token: DEMO_TOKEN } }, false],
      ["query good only", { query: { stream: id, token: DEMO_TOKEN } }, true],
      ["empty auth.token, query good", { auth: { token: "" }, query: { stream: id, token: DEMO_TOKEN } }, false],
    ];
    for (const [mode, mopts] of MODES) {
      for (const [what, opts, ok] of cases) {
        if (mopts.transports && opts.extraHeaders) {
          // websocket-only: Node's ws transport sends extraHeaders too
        }
        const s = client(t, "/demo", { ...opts, ...mopts });
        if (ok) await connected(s).catch((e) => assert.fail(`${what} (${mode}): ${e.message}`));
        else assert.equal((await connectError(s)).data?.code, "unauthorized", `${what} (${mode})`);
        closeSocket(s);
      }
    }
  });
});

describe("connect errors", () => {
  for (const [mode, mopts] of MODES) {
    test(`not_found, forbidden, bad_request (${mode})`, T, async (t) => {
      const id = `err-${uid()}`;
      await createStream(DEMO_TOKEN, { id, events: [{ namespace: "err", name: "e" }] });
      const nf = client(t, "/demo", { query: { stream: `missing-${uid()}` }, auth: { token: DEMO_TOKEN }, ...mopts });
      const e1 = await connectError(nf);
      assert.equal(e1.data?.code, "not_found");
      assert.match(e1.message, /^stream with ID 'missing-[0-9a-f]+' could not be found\.$/);
      const none = client(t, "/demo", { auth: { token: DEMO_TOKEN }, ...mopts });
      assert.equal((await connectError(none)).message, "stream with ID 'undefined' could not be found.");

      const noRole = mint({ tenant: "demo", roles: "urn:ads:platform:event-service:event-sender", sub: "no-role-user", name: "Norole" });
      const fb = client(t, "/demo", { query: { stream: id }, auth: { token: noRole }, ...mopts });
      const e2 = await connectError(fb);
      assert.equal(e2.data?.code, "forbidden");
      assert.equal(e2.message, "User Norole (ID: no-role-user) not permitted to connect stream.");

      for (const criteria of ["{bad json", "[1,2]", JSON.stringify({ context: "x" })]) {
        const br = client(t, "/demo", { query: { stream: id, criteria }, auth: { token: DEMO_TOKEN }, ...mopts });
        const e3 = await connectError(br);
        assert.equal(e3.data?.code, "bad_request", `criteria ${criteria}: ${e3.message}`);
      }
    });
  }

  test("a subscriber role (without stream-listener) is enough", T, async (t) => {
    const id = `role-${uid()}`;
    await createStream(DEMO_TOKEN, { id, subscriberRoles: ["urn:ads:platform:form-service:form-applicant"], events: [{ namespace: "role", name: "e" }] });
    const applicant = mint({ tenant: "demo", roles: "urn:ads:platform:form-service:form-applicant" });
    await subscribe(t, "/demo", { query: { stream: id }, auth: { token: applicant } });
  });
});

describe("core cross-tenant streams", () => {
  for (const [mode, mopts] of MODES) {
    test(`a core token on "/" gets a core stream's events from every tenant (${mode})`, T, async (t) => {
      const ns = `xt-${uid()}`;
      const id = `xt-${uid()}`;
      // PATCH without tenantId by a core configuration-admin: the core document
      await patch(CORE_TOKEN, { operation: "UPDATE", update: { [id]: { id, name: "Cross", subscriberRoles: [], events: [{ namespace: ns, name: "e" }] } } });
      t.after(() => http("PATCH", CONFIG, { token: CORE_TOKEN, body: { operation: "DELETE", property: id } }));
      await waitListed(CORE_TOKEN, "demo", id);
      await waitListed(CORE_TOKEN, "acme-corp", id);
      const core = await subscribe(t, "/", { query: { stream: id }, auth: { token: CORE_TOKEN }, ...mopts });
      // a tenant user sees the core stream in its own tenant scope only
      const demo = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: DEMO_TOKEN }, ...mopts });
      // a core user without stream-listener or a subscriber role may not
      const coreNoRole = mint({ core: true, roles: "urn:ads:platform:configuration-service:configuration-admin" });
      const e = await connectError(client(t, "/", { query: { stream: id }, auth: { token: coreNoRole }, ...mopts }));
      assert.equal(e.data?.code, "forbidden");

      await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { n: 1 } });
      await publish(ACME_TOKEN, { namespace: ns, name: "e", payload: { n: 2 } });
      await publish(CORE_TOKEN, { namespace: ns, name: "e", tenantId: ACME.id, payload: { n: 3 } });
      await publish(CORE_TOKEN, { namespace: ns, name: "e", tenantId: DEMO.id.split("/").pop(), payload: { n: 4 } });
      await core.rec.count(4, 8000);
      assert.deepEqual(
        core.rec.items.map((i) => [i.item.payload.n, i.item.tenantId]),
        [
          [1, DEMO.id],
          [2, ACME.id],
          [3, ACME.id],
          [4, DEMO.id],
        ],
      );
      await demo.rec.until((l) => l.some((i) => i.item.payload.n === 4), 5000, "n 4 on demo");
      assert.deepEqual(demo.rec.items.map((i) => i.item.payload.n), [1, 4]);
    });
  }
});

describe("configuration changes", () => {
  for (const [mode, mopts] of MODES) {
    test(`UPDATE changes a live subscription's projection; DELETE ends it with stream-deleted (${mode})`, T, async (t) => {
      const ns = `cfg-${uid()}`;
      const id = `cfg-${uid()}`;
      await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e", map: { v1: "payload.a" } }] });
      const s = client(t, "/demo", {
        query: { stream: id },
        auth: { token: DEMO_TOKEN },
        reconnection: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 100,
        ...mopts,
      });
      const rec = record(s);
      await connected(s);
      await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { a: 1 } });
      await rec.count(1);
      assert.equal(rec.items[0].item.v1, 1);

      // UPDATE: shallow merge of the stream; events replaced as a whole
      await patch(DEMO_TOKEN, { operation: "UPDATE", update: { [id]: { events: [{ namespace: ns, name: "e", map: { v2: "payload.a" } }] } } });
      const listed = await waitListed(DEMO_TOKEN, "demo", id, (st) => st?.events?.[0]?.map?.v2 !== undefined);
      assert.equal(listed.name, id, "UPDATE keeps omitted stream fields");
      await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { a: 2 } });
      await rec.count(2);
      assert.deepEqual([rec.items[1].item.v1, rec.items[1].item.v2], [undefined, 2]);

      // DELETE while subscribed
      const closed = once(s, "pushgate:close", { ms: 5000 });
      const disc = once(s, "disconnect", { ms: 5000 });
      const reconnectErr = once(s, "connect_error", { ms: 8000 });
      await patch(DEMO_TOKEN, { operation: "DELETE", property: id });
      assert.deepEqual(await closed, { reason: "stream-deleted" });
      const reason = await disc;
      assert.ok(["transport close", "transport error"].includes(reason), `disconnect reason ${reason}`);
      const err = await reconnectErr; // socket.io-client reconnects, the stream is gone
      assert.equal(err.data?.code, "not_found");
      const r = await http("GET", "/stream/v1/streams?tenant=demo", { token: DEMO_TOKEN });
      assert.equal(r.json[id], undefined);
    });
  }

  test("UPDATE revoking a permission ends the subscription with permission-revoked", T, async (t) => {
    const id = `rev-${uid()}`;
    const role = "urn:ads:platform:form-service:form-applicant";
    await createStream(DEMO_TOKEN, { id, subscriberRoles: [role], events: [{ namespace: "rev", name: "e" }] });
    const applicant = mint({ tenant: "demo", roles: role });
    const { s } = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: applicant } });
    const closed = once(s, "pushgate:close");
    const disc = once(s, "disconnect");
    await patch(DEMO_TOKEN, { operation: "UPDATE", update: { [id]: { subscriberRoles: [] } } });
    assert.deepEqual(await closed, { reason: "permission-revoked" });
    await disc;
  });

  test("REPLACE: streams missing from the new document end with stream-deleted, kept ones keep delivering, new ones appear", T, async (t) => {
    // a dedicated tenant: REPLACE rewrites the whole document
    const name = `Replace ${uid()}`;
    const created = await http("POST", "/tenant/v2/tenants", { token: CORE_TOKEN, body: { name } });
    assert.equal(created.status, 201, created.text);
    const tenant = created.json;
    const token = mint({ tenant: name, roles: QS_ROLES });
    const doc = (ids) => Object.fromEntries(ids.map((i) => [i, { id: i, name: i, events: [{ namespace: "rep", name: "e" }] }]));
    await patch(token, { operation: "REPLACE", configuration: doc(["a", "b"]) });
    await waitListed(token, tenant.realm, "b");
    const a = await subscribe(t, `/${tenant.realm}`, { query: { stream: "a" }, auth: { token } });
    const b = await subscribe(t, `/${tenant.realm}`, { query: { stream: "b" }, auth: { token } });
    const aClosed = once(a.s, "pushgate:close");
    await patch(token, { operation: "REPLACE", configuration: doc(["b", "c"]) });
    assert.deepEqual(await aClosed, { reason: "stream-deleted" });
    await waitListed(token, tenant.realm, "c");
    await waitListed(token, tenant.realm, "a", (s) => s === undefined);
    const c = await subscribe(t, `/${tenant.realm}`, { query: { stream: "c" }, auth: { token } });
    await publish(token, { namespace: "rep", name: "e", payload: { n: 1 } });
    await b.rec.until((l) => l.some((i) => i.event === "rep:e"), 5000, "rep:e on b");
    await c.rec.count(1);
    assert.equal(b.rec.items.filter((i) => i.event === "rep:e").length, 1);
    assert.equal(c.rec.items[0].item.tenantId, tenant.id);
    // unknown operation
    const bad = await http("PATCH", CONFIG, { token, body: { operation: "MERGE", update: {} } });
    assert.equal(bad.status, 400, bad.text);
  });
});

describe("token lifetime", () => {
  for (const [mode, mopts] of MODES) {
    test(`auth:refresh acks {ok:true, exp}; expiry ends with token-expired (${mode})`, T, async (t) => {
      const id = `life-${uid()}`;
      await createStream(DEMO_TOKEN, { id, events: [{ namespace: "life", name: "e" }] });
      const sub = `life-${uid()}`;
      const short = mint({ tenant: "demo", roles: "stream-listener", sub, ttl: "2s" });
      const { s } = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: short }, ...mopts });

      const bad = await s.timeout(5000).emitWithAck("auth:refresh", { token: "garbage" });
      assert.equal(bad.ok, false);
      const other = await s.timeout(5000).emitWithAck("auth:refresh", { token: mint({ tenant: "demo", roles: "stream-listener" }) });
      assert.deepEqual(other, { ok: false, error: "token subject differs" });

      // expiry without refresh
      const closed = once(s, "pushgate:close", { ms: 6000 });
      const disc = once(s, "disconnect", { ms: 7000 });
      assert.deepEqual(await closed, { reason: "token-expired" });
      await disc;

      // with a refresh the connection outlives the first token
      const short2 = mint({ tenant: "demo", roles: "stream-listener", sub, ttl: "2s" });
      const { s: s2, rec } = await subscribe(t, "/demo", { query: { stream: id }, auth: { token: short2 }, ...mopts });
      const firstExp = JSON.parse(Buffer.from(short2.split(".")[1], "base64url")).exp;
      const longer = mint({ tenant: "demo", roles: "stream-listener", sub, ttl: "1h" });
      const ack = await s2.timeout(5000).emitWithAck("auth:refresh", { token: longer });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      const exp = JSON.parse(Buffer.from(longer.split(".")[1], "base64url")).exp;
      assert.equal(ack.exp, exp);
      let ended = null;
      s2.on("pushgate:close", (v) => (ended = v));
      // wait until the first token's exp has passed (a time condition, not an event)
      while (Date.now() < firstExp * 1000 + 300) await new Promise((r) => setTimeout(r, 50));
      await publish(DEMO_TOKEN, { namespace: "life", name: "e", payload: { after: "exp" } });
      await rec.until((l) => l.some((i) => i.event === "life:e"), 5000, "event after the first exp");
      assert.equal(ended, null);
      assert.equal(s2.connected, true);
    });
  }
});

describe("fan-out", () => {
  for (const [mode, mopts] of MODES) {
    test(`50 subscribers x 20 events: each exactly once, in order (${mode})`, { timeout: 60_000 }, async (t) => {
      const ns = `fan-${uid()}`;
      const id = `fan-${uid()}`;
      await createStream(DEMO_TOKEN, { id, events: [{ namespace: ns, name: "e" }, { namespace: ns, name: "end" }] });
      const subs = await Promise.all(
        Array.from({ length: 50 }, () => subscribe(t, "/demo", { query: { stream: id }, auth: { token: DEMO_TOKEN }, ...mopts })),
      );
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push(await publish(DEMO_TOKEN, { namespace: ns, name: "e", payload: { i } }));
      await publish(DEMO_TOKEN, { namespace: ns, name: "end" });
      await Promise.all(subs.map(({ rec }) => rec.until((l) => l.some((x) => x.event === `${ns}:end`), 20_000, "end")));
      for (const [k, { rec }] of subs.entries()) {
        const seq = rec.items.filter((x) => x.event === `${ns}:e`).map((x) => x.item.payload.i);
        assert.deepEqual(seq, [...Array(20).keys()], `subscriber ${k}`);
        assert.equal(rec.items.length, 21, `subscriber ${k}: ${rec.items.length} events`);
      }
      assert.equal(new Set(ids).size, 20);
    });
  }
});
