// The operator-path measurement (make cluster-kill-test, scripts/run-cluster.sh kill-test): with
// the cluster of scripts/run-cluster.sh up (3 Kafka-mode instances behind nginx round-robin, no
// affinity), N_SIO stock socket.io-client 4.8.4 clients with default transports (polling, then
// the WebSocket upgrade) and N_SSE npm eventsource 3 clients connect through nginx; a publisher
// posts one event every PUBLISH_MS through nginx (retrying failures with the same
// Idempotency-Key); each instance in turn is killed with SIGKILL and, once every client has
// reconnected and caught up, started again. Each kill gets a fresh set of clients (spread by nginx
// over the 3 live instances, as a fleet's clients are). Per kill it reports the share of clients
// disconnected, their reconnect times (kill -> connected again, p50 and max) and the events lost,
// duplicated or out of order at each client from its first event on (all must be 0).
//
// Env: PUSHGATE_URL (nginx), PUSHGATE_TOKEN, CLUSTER_DIR (pid files), CLUSTER_HTTP (instance
// addresses, space separated), CLUSTER_SCRIPT (run-cluster.sh, to restart an instance),
// N_SIO (50), N_SSE (20), PUBLISH_MS (100). Prints "RESULT {...}" and a Markdown table; exits 1
// on a lost or duplicated event or a client that does not come back within STEP_MS.

import { io } from "socket.io-client";
import { EventSource } from "eventsource";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fail, sleep, waiter } from "./cluster-steps.mjs";

const BASE = process.env.PUSHGATE_URL;
const TOKEN = process.env.PUSHGATE_TOKEN;
const DIR = process.env.CLUSTER_DIR;
const HTTP = (process.env.CLUSTER_HTTP ?? "").split(" ").filter(Boolean);
const SCRIPT = process.env.CLUSTER_SCRIPT;
const N_SIO = +(process.env.N_SIO ?? 50);
const N_SSE = +(process.env.N_SSE ?? 20);
const PUBLISH_MS = +(process.env.PUBLISH_MS ?? 100);
const STEP_MS = +(process.env.STEP_MS ?? 60_000);

const waitFor = waiter(STEP_MS);

function sioClient(i) {
  const c = { kind: "socket.io", i, got: [], connected: false, upgraded: false, downAt: 0, upAt: 0 };
  const s = io(`${BASE}/demo`, {
    forceNew: true, auth: { token: TOKEN }, query: { stream: "cl" },
    reconnectionDelay: 100, reconnectionDelayMax: 1000,
  });
  s.on("cl:e", (item) => c.got.push(item.payload.n));
  s.on("connect", () => ((c.connected = true), (c.upAt = Date.now())));
  s.on("disconnect", () => ((c.connected = false), (c.downAt = Date.now())));
  s.io.on("open", () => s.io.engine.once("upgrade", () => (c.upgraded = true)));
  c.transport = () => s.io.engine?.transport?.name;
  c.close = () => s.close();
  return c;
}
function sseClient(i) {
  const c = { kind: "sse", i, got: [], connected: false, downAt: 0, upAt: 0 };
  const src = new EventSource(`${BASE}/stream/v1/streams/cl`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${TOKEN}` } }),
  });
  src.onmessage = (e) => c.got.push(JSON.parse(e.data).payload.n);
  src.onopen = () => ((c.connected = true), (c.upAt = Date.now()));
  src.onerror = () => {
    if (c.connected) c.downAt = Date.now();
    c.connected = false;
  };
  c.close = () => src.close();
  return c;
}

// The publisher: one event every PUBLISH_MS, each retried (same Idempotency-Key) until accepted.
let next = 0, publishing = true, retries = 0;
const accepted = new Set();
async function publisher() {
  while (publishing) {
    const n = next++;
    for (;;) {
      try {
        const r = await fetch(`${BASE}/event/v1/events`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Idempotency-Key": `kill-test-${process.pid}-${n}` },
          body: JSON.stringify({ namespace: "cl", name: "e", timestamp: new Date().toISOString(), payload: { n } }),
          signal: AbortSignal.timeout(5000),
        });
        await r.text();
        if (r.ok) break;
      } catch {}
      retries++;
      await sleep(100);
    }
    accepted.add(n);
    await sleep(PUBLISH_MS);
  }
}

// One round per instance: a fresh set of clients spread by nginx over the 3 live instances (so
// each kill meets the same even spread, not the pile-up left by the previous kill), the kill,
// every client back and caught up, the instance restarted.
const pub = publisher();
const metric = async (addr, name) => {
  try {
    const text = await (await fetch(`http://${addr}/metrics`)).text();
    const m = text.match(new RegExp(`^${name} ([0-9.e+]+)$`, "m"));
    return m ? +m[1] : 0;
  } catch {
    return NaN;
  }
};
const pct = (xs, p) => (xs.length ? xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : 0);
const caughtUp = (cs) => {
  const want = Math.max(...accepted);
  return cs.every((c) => c.connected && c.got.length > 0 && c.got[c.got.length - 1] >= want);
};
let lost = 0, dups = 0, disorder = 0, checked = 0;
const check = (cs) => {
  const last = Math.max(...accepted);
  for (const c of cs) {
    const seen = new Map();
    for (const n of c.got) seen.set(n, (seen.get(n) ?? 0) + 1);
    for (let n = c.got[0]; n <= last; n++) if (!seen.has(n) && accepted.has(n)) lost++;
    for (const v of seen.values()) if (v > 1) dups += v - 1;
    for (let j = 1; j < c.got.length; j++) if (c.got[j] < c.got[j - 1]) disorder++;
    checked++;
  }
};
await waitFor("first events accepted", () => accepted.size >= 3);

const kills = [];
for (let k = 0; k < HTTP.length; k++) {
  const t0 = Date.now();
  const clients = [];
  for (let i = 0; i < N_SIO; i++) {
    clients.push(sioClient(i));
    if (i % 25 === 24) await waitFor("connect", () => clients.every((c) => c.connected));
  }
  for (let i = 0; i < N_SSE; i++) clients.push(sseClient(i));
  await waitFor("every client connected", () => clients.every((c) => c.connected));
  await waitFor("every socket.io client upgraded to WebSocket", () =>
    clients.every((c) => c.kind !== "socket.io" || (c.upgraded && c.transport() === "websocket")));
  await waitFor("events flowing to every client", () => caughtUp(clients));
  console.log(`round ${k + 1}: ${clients.length} clients connected through nginx in ${Date.now() - t0} ms`);
  const conns = await Promise.all(HTTP.map((a) => metric(a, "pushgate_connections")));
  const proxied = await Promise.all(HTTP.map((a) => metric(a, "pushgate_cluster_proxied_connections")));
  const pid = +readFileSync(`${DIR}/i${k + 1}.pid`, "utf8");
  for (const c of clients) c.downAt = c.upAt = 0;
  const tKill = Date.now();
  process.kill(pid, "SIGKILL");
  await sleep(500);
  await waitFor(`kill ${k + 1}: every client reconnected`, () => clients.every((c) => c.connected));
  const after = next;
  await waitFor(`kill ${k + 1}: every client caught up`, () => accepted.has(after) && caughtUp(clients));
  const hit = clients.filter((c) => c.downAt >= tKill);
  const times = (kind) => hit.filter((c) => c.kind === kind).map((c) => c.upAt - tKill);
  const r = {
    kill: k + 1, instance: HTTP[k], connectionsBefore: conns, relayedWebSocketsBefore: proxied,
    disconnected: { "socket.io": times("socket.io").length, sse: times("sse").length },
    share: +(hit.length / clients.length).toFixed(2),
    reconnectMs: { sioP50: pct(times("socket.io"), 0.5), sioMax: Math.max(0, ...times("socket.io")),
      sseP50: pct(times("sse"), 0.5), sseMax: Math.max(0, ...times("sse")) },
  };
  console.log(`kill ${k + 1}: ${JSON.stringify(r)}`);
  kills.push(r);
  check(clients);
  clients.forEach((c) => c.close());
  execFileSync(SCRIPT, ["start", String(k + 1)], { stdio: "inherit" }); // back before the next round
  for (const a of HTTP) { // in every directory before the next round
    const end = Date.now() + STEP_MS;
    while ((await metric(a, "pushgate_cluster_instances")) !== HTTP.length) {
      if (Date.now() > end) fail(`${a} does not see ${HTTP.length} instances`);
      await sleep(200);
    }
  }
  // and nginx sends it new sessions again (it skips a server for fail_timeout after a refused
  // connect): a handshake through nginx gets a session id owned by it (sids start "<instance-id>.").
  for (const end = Date.now() + STEP_MS; ; ) {
    const r = await fetch(`${BASE}/socket.io/?EIO=4&transport=polling`).then((r) => r.text()).catch(() => "");
    if (r.includes(`"sid":"i${k + 1}.`)) break;
    if (Date.now() > end) fail(`nginx does not send sessions to instance ${k + 1} again`);
    await sleep(100);
  }
}
publishing = false;
await pub;
const last = next - 1;
const result = { clients: { "socket.io": N_SIO, sse: N_SSE }, events: last + 1, publishRetries: retries, clientsChecked: checked, lost, duplicates: dups, outOfOrder: disorder, kills };
console.log(`RESULT ${JSON.stringify(result)}`);
console.log("\n| kill | instance | TCP connections per instance before | WebSockets relayed per instance before | disconnected socket.io / SSE | share | reconnect p50 / max (ms) socket.io | SSE |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of kills)
  console.log(`| ${r.kill} | ${r.instance} | ${r.connectionsBefore.join(" / ")} | ${r.relayedWebSocketsBefore.join(" / ")} | ${r.disconnected["socket.io"]}/${N_SIO} / ${r.disconnected.sse}/${N_SSE} | ${Math.round(r.share * 100)} % | ${r.reconnectMs.sioP50} / ${r.reconnectMs.sioMax} | ${r.reconnectMs.sseP50} / ${r.reconnectMs.sseMax} |`);
console.log(`\n${last + 1} events, ${checked} clients checked: lost ${lost}, duplicates ${dups}, out of order ${disorder}, publisher retries ${retries}`);
process.exit(lost || dups || disorder ? 1 : 0);
