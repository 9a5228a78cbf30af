// Interoperability tests: the real npm socket.io-client 4.8.4 (and raw HTTP / WebSocket for bad input)
// against a server implementing the conformance-fixture contract (shared notes socketio-protocol.md §4.3,
// plus the extra behaviours documented in reference-fixture.mjs), with pingInterval 300 ms,
// pingTimeout 200 ms, connectTimeout 1 s.
//
//   PUSHGATE_URL=http://127.0.0.1:3000 node --test --test-reporter=spec interop/socketio.test.mjs
//
// Normally run through `go test ./interop/...` (interop_test.go), which starts the server under test.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { io, Manager } from "socket.io-client";
import WebSocket from "ws";

const BASE = (process.env.PUSHGATE_URL || "http://127.0.0.1:3000").replace(/\/+$/, "");
const WS_BASE = BASE.replace(/^http/, "ws");
const EIO_PATH = "/socket.io/";

// Fixture timings (must match the server under test).
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1e6;

const T = { timeout: 15_000 }; // per-test timeout

// ---------------------------------------------------------------------------------------------
// helpers

/** Creates a socket.io-client socket that is always closed when the test ends. */
function client(t, nsp = "/", opts = {}) {
  const socket = io(BASE + nsp, { forceNew: true, ...opts });
  t.after(() => closeSocket(socket));
  return socket;
}

function closeSocket(socket) {
  try {
    socket.io.reconnection(false);
    socket.disconnect();
    socket.io.engine?.close();
  } catch {
    /* already closed */
  }
}

/** Resolves with the event's arguments (array); rejects after ms, or on `failOn` events. */
function waitFor(emitter, event, { ms = 5000, failOn = [] } = {}) {
  return new Promise((resolve, reject) => {
    const cleanups = [];
    const done = (fn, v) => {
      clearTimeout(timer);
      for (const c of cleanups) c();
      fn(v);
    };
    const timer = setTimeout(
      () => done(reject, new Error(`timed out after ${ms} ms waiting for "${event}"`)),
      ms,
    );
    const onEvent = (...args) => done(resolve, args);
    emitter.once(event, onEvent);
    cleanups.push(() => emitter.off(event, onEvent));
    for (const f of failOn) {
      const onFail = (...args) =>
        done(reject, new Error(`got "${f}" while waiting for "${event}": ${fmt(args)}`));
      emitter.once(f, onFail);
      cleanups.push(() => emitter.off(f, onFail));
    }
  });
}

function fmt(args) {
  return args.map((a) => (a instanceof Error ? `${a.message} ${JSON.stringify(a.data ?? "")}` : JSON.stringify(a))).join(", ");
}

/** Waits for a successful connect; fails fast on connect_error / disconnect. */
async function connected(socket, ms = 5000) {
  if (socket.connected) return;
  await waitFor(socket, "connect", { ms, failOn: ["connect_error", "disconnect"] });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Normalises binary values received by the client (Buffer in Node; ArrayBuffer tolerated). */
function normalise(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

// Arguments of every JSON type plus binary (top-level and nested), unicode and HTML-ish characters.
function sampleArgs() {
  return [
    1,
    "2",
    { 3: [true] },
    -1.5,
    null,
    false,
    "ünïcødé ✓ 🚀 <tag> & \"quoted\" \\ \u2028",
    [],
    {},
    { nested: { list: [1, "two", { three: 3 }], empty: "" } },
    Buffer.from([1, 2, 3]),
    { bin: Buffer.from([4, 5, 6]), arr: [Buffer.from([]), Buffer.from("hello")] },
  ];
}

const engineUrl = (query) => `${BASE}${EIO_PATH}?${query}`;

async function handshake() {
  const res = await fetch(engineUrl("EIO=4&transport=polling"));
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.equal(body[0], "0", `open packet expected, got ${body}`);
  return JSON.parse(body.slice(1));
}

async function expectError(res, status, code, message) {
  assert.equal(res.status, status, `HTTP status for expected error code ${code}`);
  assert.match(res.headers.get("content-type") || "", /application\/json/);
  const body = await res.json();
  assert.equal(body.code, code);
  if (message !== undefined) assert.equal(body.message, message);
}

// ---------------------------------------------------------------------------------------------

describe("socket.io-client 4.8.4 transports", () => {
  test("default transports: polling handshake, then upgrade to websocket", T, async (t) => {
    const socket = client(t, "/");
    const auth = waitFor(socket, "auth");
    await connected(socket);
    assert.equal(typeof socket.id, "string");
    const [a] = await auth;
    assert.deepEqual(a, {});
    await until(() => socket.io.engine?.transport?.name === "websocket", 5000, "upgrade to websocket");
    assert.equal(socket.io.engine.transport.name, "websocket");
    assert.ok(socket.connected);
    // traffic still flows after the upgrade
    const back = waitFor(socket, "message-back");
    socket.emit("message", "after-upgrade", 42);
    assert.deepEqual(await back, ["after-upgrade", 42]);
  });

  test('transports: ["websocket"] connects directly over websocket', T, async (t) => {
    const socket = client(t, "/", { transports: ["websocket"] });
    await connected(socket);
    assert.equal(socket.io.engine.transport.name, "websocket");
    const back = waitFor(socket, "message-back");
    socket.emit("message", "ws-only");
    assert.deepEqual(await back, ["ws-only"]);
  });

  test('polling only (transports: ["polling"], upgrade: false)', T, async (t) => {
    const socket = client(t, "/", { transports: ["polling"], upgrade: false });
    let upgraded = false;
    socket.io.on("open", () => socket.io.engine.on("upgrade", () => (upgraded = true)));
    await connected(socket);
    assert.equal(socket.io.engine.transport.name, "polling");
    const back = waitFor(socket, "message-back");
    socket.emit("message", "polling-only", { x: 1 });
    assert.deepEqual(await back, ["polling-only", { x: 1 }]);
    await sleep(PING_INTERVAL + 100); // survive at least one heartbeat over polling
    assert.ok(socket.connected);
    assert.equal(socket.io.engine.transport.name, "polling");
    assert.equal(upgraded, false);
  });
});

describe("namespaces and auth", () => {
  test("connect to /custom with auth receives the auth object back", T, async (t) => {
    const auth = { token: "abc", n: 1, nested: { ok: true } };
    const socket = client(t, "/custom", { auth });
    const got = waitFor(socket, "auth");
    await connected(socket);
    assert.deepEqual((await got)[0], auth);
  });

  test("/auth-required with a wrong token: connect_error, no reconnection", T, async (t) => {
    const socket = client(t, "/auth-required", { auth: { token: "wrong" } });
    let connects = 0;
    let errors = 0;
    socket.on("connect", () => connects++);
    socket.on("connect_error", () => errors++);
    const [err] = await waitFor(socket, "connect_error", { failOn: ["connect"] });
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { code: "unauthorized" });
    assert.equal(socket.active, false);
    assert.equal(socket.connected, false);
    // the client's reconnection delay is 1000 ms ±50 %: wait past it and make sure nothing was retried
    await sleep(1600);
    assert.equal(connects, 0);
    assert.equal(errors, 1);
    assert.equal(socket.active, false);
  });

  test("/auth-required with the right token connects", T, async (t) => {
    const socket = client(t, "/auth-required", { auth: { token: "secret" } });
    const got = waitFor(socket, "auth");
    await connected(socket);
    assert.deepEqual((await got)[0], { token: "secret" });
  });

  test('unknown namespace /nope: connect_error "Invalid namespace"', T, async (t) => {
    const socket = client(t, "/nope");
    const [err] = await waitFor(socket, "connect_error", { failOn: ["connect"] });
    assert.equal(err.message, "Invalid namespace");
    assert.equal(socket.active, false);
  });

  test("two namespaces multiplexed on one Manager share the engine connection", T, async (t) => {
    // io() without forceNew caches the Manager per origin: both sockets use the same one.
    const main = io(BASE + "/");
    const custom = io(BASE + "/custom", { auth: { who: "custom" } });
    t.after(() => {
      closeSocket(main);
      closeSocket(custom);
    });
    const mainAuth = waitFor(main, "auth");
    const customAuth = waitFor(custom, "auth");
    await Promise.all([connected(main), connected(custom)]);
    assert.equal(main.io, custom.io);
    assert.ok(main.io.engine);
    assert.equal(main.io.engine, custom.io.engine);
    assert.notEqual(main.id, custom.id);
    assert.deepEqual((await mainAuth)[0], {});
    assert.deepEqual((await customAuth)[0], { who: "custom" });

    const back = waitFor(main, "message-back");
    main.emit("message", "on-main");
    assert.deepEqual(await back, ["on-main"]);

    // disconnecting one namespace keeps the other (and the shared engine) alive
    custom.disconnect();
    await sleep(PING_INTERVAL + PING_TIMEOUT);
    assert.ok(main.connected);
    const back2 = waitFor(main, "message-back");
    main.emit("message", "still-there");
    assert.deepEqual(await back2, ["still-there"]);
  });
});

describe("events and acks", () => {
  test("server emit reaches the client (emit-to-me)", T, async (t) => {
    const socket = client(t, "/", { transports: ["websocket"] });
    await connected(socket);
    const got = waitFor(socket, "greeting");
    socket.emit("emit-to-me", "greeting", { hello: "world", n: [1, 2, 3] });
    assert.deepEqual(await got, [{ hello: "world", n: [1, 2, 3] }]);
  });

  for (const [label, opts] of [
    ["websocket", { transports: ["websocket"] }],
    ["polling", { transports: ["polling"], upgrade: false }],
  ]) {
    test(`client emit with ack (emitWithAck / callback) over ${label}`, T, async (t) => {
      const socket = client(t, "/", opts);
      await connected(socket);
      const res = await socket.timeout(3000).emitWithAck("message-with-ack", { ok: true, n: 7 });
      assert.deepEqual(res, { ok: true, n: 7 });

      const args = sampleArgs();
      const acked = await new Promise((resolve, reject) => {
        socket.timeout(3000).emit("message-with-ack", ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
      });
      assert.deepEqual(normalise(acked), args);
    });

    test(`message -> message-back with every argument type incl. binary over ${label}`, T, async (t) => {
      const socket = client(t, "/", opts);
      await connected(socket);
      const args = sampleArgs();
      const back = waitFor(socket, "message-back");
      socket.emit("message", ...args);
      const got = normalise(await back);
      assert.deepEqual(got, args);
      assert.ok(Buffer.isBuffer(got[10]), "binary argument arrives as binary");

      // binary-only and several in a row keep their order
      const order = [];
      const all = new Promise((resolve) => {
        socket.on("message-back", (...a) => {
          order.push(normalise(a));
          if (order.length === 3) resolve();
        });
      });
      socket.emit("message", Buffer.from([0xff, 0x00, 0x1e]));
      socket.emit("message", "plain");
      socket.emit("message", Buffer.alloc(70_000, 7));
      await Promise.race([all, sleep(5000).then(() => assert.fail("message-back x3 timed out"))]);
      assert.deepEqual(order, [[Buffer.from([0xff, 0x00, 0x1e])], ["plain"], [Buffer.alloc(70_000, 7)]]);
    });
  }
});

describe("disconnect", () => {
  test('server disconnect: "io server disconnect", no automatic reconnect', T, async (t) => {
    const socket = client(t, "/");
    await connected(socket);
    let connects = 0;
    socket.on("connect", () => connects++);
    const dis = waitFor(socket, "disconnect");
    socket.emit("server-disconnect");
    const [reason] = await dis;
    assert.equal(reason, "io server disconnect");
    assert.equal(socket.connected, false);
    assert.equal(socket.active, false);
    await sleep(1600); // past the client's reconnection delay (1000 ms ±50 %)
    assert.equal(connects, 0);
    assert.equal(socket.connected, false);
  });

  test("client disconnect then connect again works", T, async (t) => {
    const socket = client(t, "/", { transports: ["websocket"] });
    await connected(socket);
    const firstId = socket.id;
    socket.disconnect();
    assert.equal(socket.connected, false);
    socket.connect();
    await connected(socket);
    assert.notEqual(socket.id, firstId);
    const back = waitFor(socket, "message-back");
    socket.emit("message", "again");
    assert.deepEqual(await back, ["again"]);
  });
});

describe("heartbeat", () => {
  test(`idle clients stay connected for > 3 ping intervals (${PING_INTERVAL} ms)`, T, async (t) => {
    const sockets = [
      client(t, "/", {}),
      client(t, "/", { transports: ["websocket"] }),
      client(t, "/", { transports: ["polling"], upgrade: false }),
    ];
    await Promise.all(sockets.map((s) => connected(s)));
    const pings = sockets.map(() => 0);
    const disconnects = [];
    sockets.forEach((s, i) => {
      s.io.engine.on("ping", () => pings[i]++);
      s.on("disconnect", (reason) => disconnects.push(`${i}: ${reason}`));
    });
    await sleep(1200);
    assert.deepEqual(disconnects, []);
    for (const [i, s] of sockets.entries()) {
      assert.ok(s.connected, `socket ${i} still connected`);
      assert.ok(pings[i] >= 3, `socket ${i} got ${pings[i]} pings in 1200 ms, want >= 3`);
    }
  });

  test("a client that never answers pings is dropped by the server", T, async () => {
    const ws = new WebSocket(`${WS_BASE}${EIO_PATH}?EIO=4&transport=websocket`);
    try {
      const frames = [];
      let openAt = 0;
      let firstPingAt = 0;
      const closed = new Promise((resolve, reject) => {
        ws.on("close", () => resolve(Date.now()));
        ws.on("error", reject);
      });
      ws.on("message", (data, isBinary) => {
        const s = isBinary ? "<binary>" : data.toString();
        frames.push(s);
        if (s[0] === "0" && !openAt) {
          openAt = Date.now();
          ws.send("40"); // join "/" so that only the heartbeat (not connectTimeout) can close us
        }
        if (s === "2" && !firstPingAt) firstPingAt = Date.now();
        // never answer "2" with "3"
      });
      const limit = PING_INTERVAL + PING_TIMEOUT + 300;
      const closedAt = await Promise.race([
        closed,
        sleep(limit + 1000).then(() => assert.fail(`server did not close within ${limit + 1000} ms; frames: ${frames}`)),
      ]);
      assert.ok(openAt, "received the open packet");
      const open = JSON.parse(frames[0].slice(1));
      assert.deepEqual(open.upgrades, []);
      assert.equal(open.pingInterval, PING_INTERVAL);
      assert.equal(open.pingTimeout, PING_TIMEOUT);
      assert.ok(frames.some((f) => f.startsWith("40{")), `CONNECT reply received; frames: ${frames}`);
      assert.ok(firstPingAt, `a ping was sent before the close; frames: ${frames}`);
      const after = closedAt - openAt;
      assert.ok(after <= limit, `closed ${after} ms after open, want <= ${limit}`);
      assert.ok(after >= PING_INTERVAL + PING_TIMEOUT - 50, `closed too early (${after} ms after open)`);
    } finally {
      ws.terminate();
    }
  });
});

describe("raw HTTP bad input", () => {
  test("polling handshake advertises the fixture settings", T, async () => {
    const open = await handshake();
    assert.deepEqual(Object.keys(open).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
    assert.equal(typeof open.sid, "string");
    assert.ok(open.sid.length >= 16, "sid is long enough to be unguessable");
    assert.deepEqual(open.upgrades, ["websocket"]);
    assert.equal(open.pingInterval, PING_INTERVAL);
    assert.equal(open.pingTimeout, PING_TIMEOUT);
    assert.equal(open.maxPayload, MAX_PAYLOAD);
  });

  test("unknown sid -> 400 code 1", T, async () => {
    const get = await fetch(engineUrl("EIO=4&transport=polling&sid=doesNotExist123"));
    await expectError(get, 400, 1, "Session ID unknown");
    const post = await fetch(engineUrl("EIO=4&transport=polling&sid=doesNotExist123"), {
      method: "POST",
      body: "40",
    });
    await expectError(post, 400, 1, "Session ID unknown");
  });

  test("EIO=3 -> 400 code 5", T, async () => {
    await expectError(await fetch(engineUrl("EIO=3&transport=polling")), 400, 5, "Unsupported protocol version");
    await expectError(await fetch(engineUrl("transport=polling")), 400, 5);
  });

  test("transport=abc -> 400 code 0", T, async () => {
    await expectError(await fetch(engineUrl("EIO=4&transport=abc")), 400, 0, "Transport unknown");
    await expectError(await fetch(engineUrl("EIO=4")), 400, 0);
  });

  test("POST without sid -> 400 code 2", T, async () => {
    const res = await fetch(engineUrl("EIO=4&transport=polling"), { method: "POST", body: "40" });
    await expectError(res, 400, 2, "Bad handshake method");
  });

  test("transport=websocket without Upgrade -> 400 code 3", T, async () => {
    await expectError(await fetch(engineUrl("EIO=4&transport=websocket")), 400, 3, "Bad request");
  });

  test("POST body larger than maxPayload -> 413", T, async () => {
    const { sid } = await handshake();
    let status;
    try {
      const res = await fetch(engineUrl(`EIO=4&transport=polling&sid=${sid}`), {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: "4" + "a".repeat(MAX_PAYLOAD),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => {});
    } catch (err) {
      assert.fail(`expected a 413 response, got ${err.cause?.code || err.message}`);
    }
    assert.equal(status, 413);
  });

  test("concurrent second GET -> 400, first GET answered with close packet, session gone", T, async () => {
    const { sid } = await handshake();
    const url = engineUrl(`EIO=4&transport=polling&sid=${sid}`);
    const first = fetch(url).then(async (r) => ({ status: r.status, body: await r.text() }));
    await sleep(20); // let the first GET become the pending long-poll (well before the 300 ms ping)
    const second = await fetch(url);
    assert.ok([400, 500].includes(second.status), `second GET status ${second.status}, want 400`);
    await second.arrayBuffer();
    const f = await first;
    assert.equal(f.status, 200);
    assert.equal(f.body, "1");
    await expectError(await fetch(url), 400, 1, "Session ID unknown");
  });

  test("garbage packet in a POST -> 400 (or aborted) and the session is gone", T, async () => {
    const { sid } = await handshake();
    const url = engineUrl(`EIO=4&transport=polling&sid=${sid}`);
    let res;
    try {
      res = await fetch(url, { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8" }, body: "abc" });
      await res.arrayBuffer();
    } catch (err) {
      // a server may destroy the request socket; fetch reports that as a network error (TypeError)
      assert.equal(err.name, "TypeError", `unexpected error ${err}`);
    }
    // 400 is what the spec asks for; socket.io 4.8.4 / engine.io 6.6.12 actually answers 200 "ok" and then
    // closes the session (the official suite's assertion on this status sits inside a try/catch).
    if (res) assert.ok([200, 400].includes(res.status), `POST status ${res.status}`);
    await expectError(await fetch(url), 400, 1, "Session ID unknown");
  });
});
