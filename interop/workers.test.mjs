// socket.io-client 4.8.4 with its default transports (polling, then the upgrade to WebSocket)
// against `pushgate serve --workers 2`: every client upgrades and receives each event once,
// whichever worker each of its connections reaches (interop/workers_test.go starts the server;
// PUSHGATE_URL and PUSHGATE_TOKEN come from it).

import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const BASE = process.env.PUSHGATE_URL;
const TOKEN = process.env.PUSHGATE_TOKEN;
const CONFIG = "/configuration/v2/configuration/platform/push-service";
const N = 24;

async function http(method, path, body) {
  const r = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

const within = (ms, what, p) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

test(`${N} default-transport clients upgrade to WebSocket across workers and each gets every event once`, { timeout: 60_000 }, async (t) => {
  await http("PATCH", CONFIG, {
    operation: "UPDATE",
    update: { wk: { id: "wk", name: "Workers", subscriberRoles: [], events: [{ namespace: "wk", name: "e" }] } },
  });
  const clients = [];
  t.after(() => clients.forEach((c) => c.close()));
  for (let i = 0; i < N; i++) {
    // forceNew: one Engine.IO session (and so one set of connections) per client.
    const s = io(`${BASE}/demo`, { forceNew: true, reconnection: false, auth: { token: TOKEN }, query: { stream: "wk" } });
    const got = [];
    s.on("wk:e", (item) => got.push(item.payload.n));
    const upgraded = new Promise((resolve) => s.io.engine.once("upgrade", resolve));
    const connected = new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    });
    clients.push({ s, got, upgraded, connected, close: () => s.close() });
  }
  await within(10_000, "connect", Promise.all(clients.map((c) => c.connected)));
  await within(10_000, "upgrade to websocket", Promise.all(clients.map((c) => c.upgraded)));
  for (const [i, c] of clients.entries()) {
    assert.equal(c.s.io.engine.transport.name, "websocket", `client ${i}`);
  }
  for (let n = 0; n < 5; n++) await http("POST", "/event/v1/events", { namespace: "wk", name: "e", timestamp: new Date().toISOString(), payload: { n } });
  await within(10_000, "events", (async () => {
    while (!clients.every((c) => c.got.length >= 5)) await new Promise((r) => setTimeout(r, 20));
  })());
  await new Promise((r) => setTimeout(r, 200)); // duplicates would arrive by now
  for (const [i, c] of clients.entries()) assert.deepEqual(c.got, [0, 1, 2, 3, 4], `client ${i}`);
});
