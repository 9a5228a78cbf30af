// Clients of the many-instances scenario (interop/cluster_test.go, scripts/run-cluster.sh): stock
// socket.io-client 4.8.4 with default transports (polling, then the upgrade) and polling only,
// plus npm eventsource 3.x, all through one address that spreads every new TCP connection over
// the instances with no affinity (a round-robin proxy or nginx).
//
//  1. connect every client (default-transport ones must upgrade to WebSocket);
//  2. publish EVENTS1 events, wait until every client has each exactly once;
//  3. print "KILL" and wait for a line on stdin (the driver kills one instance with SIGKILL);
//  4. publish EVENTS2 more while the killed instance's clients reconnect through the balancer,
//     and wait until every client has all EVENTS1+EVENTS2 events, each exactly once and in order
//     (Socket.IO connection state recovery, SSE Last-Event-ID, on whichever instance).
//
// Env: PUSHGATE_URL (the balancer), PUSHGATE_TOKEN, N_DEFAULT, N_POLLING, N_SSE, EVENTS1, EVENTS2,
// KILL ("0": stop after step 2, without the kill),
// STREAM (a configured stream whose events are namespace cl, name e). Prints one JSON summary
// line "RESULT {...}" and exits 0, or a reason and exits 1.

import { io } from "socket.io-client";
import { EventSource } from "eventsource";
import { createInterface } from "node:readline";
import { fail, sleep, waiter } from "./cluster-steps.mjs";

const BASE = process.env.PUSHGATE_URL;
const TOKEN = process.env.PUSHGATE_TOKEN;
const STREAM = process.env.STREAM ?? "cl";
const N_DEFAULT = +(process.env.N_DEFAULT ?? 300);
const N_POLLING = +(process.env.N_POLLING ?? 50);
const N_SSE = +(process.env.N_SSE ?? 50);
const EVENTS1 = +(process.env.EVENTS1 ?? 5);
const EVENTS2 = +(process.env.EVENTS2 ?? 5);
const STEP_MS = +(process.env.STEP_MS ?? 30_000);

const waitFor = waiter(STEP_MS);

async function publish(n) {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(`${BASE}/event/v1/events`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ namespace: "cl", name: "e", timestamp: new Date().toISOString(), payload: { n } }),
      });
      const text = await r.text();
      if (r.ok) return;
      if (attempt >= 20) fail(`publish ${n}: ${r.status} ${text}`);
    } catch (e) {
      if (attempt >= 20) fail(`publish ${n}: ${e}`);
    }
    await sleep(100);
  }
}

const clients = [];

function socketClient(kind, i) {
  const opts = {
    forceNew: true, // one Engine.IO session (and so its own connections) per client
    auth: { token: TOKEN },
    query: { stream: STREAM },
    reconnectionDelay: 100,
    reconnectionDelayMax: 1000,
  };
  if (kind === "polling") opts.transports = ["polling"];
  const s = io(`${BASE}/demo`, opts);
  const c = { kind, i, got: [], log: [], reconnectMs: [], lostAt: 0, connected: false, upgraded: false, disconnects: 0, recovered: 0, errors: 0, close: () => s.close() };
  const t = () => Date.now() % 100000;
  s.on("cl:e", (item, offset) => (c.got.push(item.payload.n), c.log.push(`${t()} ev ${item.payload.n} ${offset}`)));
  s.on("connect", () => {
    if (c.lostAt) c.reconnectMs.push(Date.now() - c.lostAt), (c.lostAt = 0);
    c.connected = true;
    if (s.recovered) c.recovered++;
    c.log.push(`${t()} connect sid=${s.io.engine.id} recovered=${s.recovered}`);
  });
  s.on("disconnect", (reason) => {
    c.lostAt = Date.now();
    c.connected = false;
    c.disconnects++;
    c.log.push(`${t()} disconnect ${reason} sid=${s.io.engine?.id}`);
  });
  s.on("connect_error", (e) => (c.errors++, c.log.push(`${t()} connect_error ${e.message}`)));
  s.io.on("open", () => s.io.engine.once("upgrade", () => (c.upgraded = true)));
  c.transport = () => s.io.engine?.transport?.name;
  return c;
}

function sseClient(i) {
  const c = { kind: "sse", i, got: [], connected: false, disconnects: 0, recovered: 0, errors: 0 };
  const src = new EventSource(`${BASE}/stream/v1/streams/${STREAM}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${TOKEN}` } }),
  });
  src.onmessage = (e) => c.got.push(JSON.parse(e.data).payload.n);
  src.addEventListener("reset", () => c.errors++);
  src.onopen = () => {
    if (c.disconnects > 0) c.recovered++;
    c.connected = true;
  };
  src.onerror = () => {
    if (c.connected) c.disconnects++;
    c.connected = false;
  };
  c.close = () => src.close();
  return c;
}

// Connect in batches: a few hundred simultaneous handshakes would mostly measure the machine.
const t0 = Date.now();
for (let i = 0; i < N_DEFAULT + N_POLLING + N_SSE; i++) {
  if (i < N_DEFAULT) clients.push(socketClient("default", i));
  else if (i < N_DEFAULT + N_POLLING) clients.push(socketClient("polling", i));
  else clients.push(sseClient(i));
  if (i % 50 === 49) await waitFor("batch connect", () => clients.every((c) => c.connected));
}
await waitFor("every client connected", () => clients.every((c) => c.connected));
await waitFor("every default-transport client upgraded to WebSocket", () =>
  clients.every((c) => c.kind !== "default" || (c.upgraded && c.transport() === "websocket")));
const connectMs = Date.now() - t0;
console.log(`connected ${clients.length} clients in ${connectMs} ms`);

const exactly = (c, n) => c.got.length === n && c.got.every((v, k) => v === k);
for (let n = 0; n < EVENTS1; n++) await publish(n);
await waitFor(`phase 1: every client has ${EVENTS1} events`, () => clients.every((c) => c.got.length >= EVENTS1));
await sleep(300); // duplicates would have arrived by now
const bad1 = clients.filter((c) => !exactly(c, EVENTS1));
if (bad1.length) fail(`phase 1: ${bad1.length} clients without every event exactly once, e.g. ${bad1[0].kind} ${JSON.stringify(bad1[0].got)}`);
console.log(`phase 1: ${EVENTS1} events at all ${clients.length} clients exactly once`);

if (process.env.KILL === "0") { // no kill phase (RabbitMQ mode: recovery is per instance)
  const by = (kind) => clients.filter((c) => c.kind === kind).length;
  console.log(`RESULT ${JSON.stringify({ clients: clients.length, connectMs, events: EVENTS1, default: by("default"), polling: by("polling"), sse: by("sse") })}`);
  clients.forEach((c) => c.close());
  process.exit(0);
}
console.log("KILL");
const rl = createInterface({ input: process.stdin });
await new Promise((resolve) => rl.once("line", resolve));
rl.close();
const tKill = Date.now();
for (let n = EVENTS1; n < EVENTS1 + EVENTS2; n++) await publish(n);
const total = EVENTS1 + EVENTS2;
await waitFor(`phase 2: every client has ${total} events`, () => clients.every((c) => c.got.length >= total && c.connected));
await sleep(300);
const bad2 = clients.filter((c) => !exactly(c, total));
if (bad2.length) {
  const b = bad2[0];
  for (const x of bad2.slice(0, 3)) console.log(`client ${x.kind} #${x.i}: ${JSON.stringify(x.log ?? [])}`);
  fail(`phase 2: ${bad2.length} clients without every event exactly once in order, e.g. ${b.kind} #${b.i} ${JSON.stringify(b.got)} (disconnects ${b.disconnects}, recovered ${b.recovered})`);
}
const by = (kind) => clients.filter((c) => c.kind === kind);
const summary = {
  clients: clients.length, connectMs, recoverMs: Date.now() - tKill, events: total,
  disconnected: Object.fromEntries(["default", "polling", "sse"].map((k) => [k, by(k).filter((c) => c.disconnects > 0).length])),
  recovered: Object.fromEntries(["default", "polling", "sse"].map((k) => [k, by(k).filter((c) => c.recovered > 0).length])),
};
// Socket.IO reconnect times (disconnect to connect, every client hit by the kill).
const rec = clients.flatMap((c) => c.reconnectMs ?? []).sort((a, b) => a - b);
if (rec.length) summary.reconnectMs = { p50: rec[Math.floor(rec.length / 2)], max: rec[rec.length - 1] };
const hit = clients.filter((c) => c.disconnects > 0);
if (hit.length === 0) fail("no client was disconnected by the kill: the scenario did not test recovery");
// A polling client whose request was in flight through the killed instance may see its
// disconnect only seconds later, after phase 2: judge its recovery once it is connected again.
await waitFor("every Socket.IO client hit by the kill connected again", () => hit.every((c) => c.kind === "sse" || c.connected));
const unrecovered = hit.filter((c) => c.kind !== "sse" && c.recovered === 0);
for (const x of unrecovered.slice(0, 3)) console.log(`client ${x.kind} #${x.i}: ${JSON.stringify(x.log ?? [])}`);
if (unrecovered.length) fail(`${unrecovered.length} Socket.IO clients reconnected without recovery (socket.recovered false)`);
console.log(`RESULT ${JSON.stringify(summary)}`);
clients.forEach((c) => c.close());
process.exit(0);
