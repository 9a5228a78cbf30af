// Reference socket.io 4.8.4 server for the side-by-side benchmark (bench/cmd/benchcmp).
//
// It serves pushgate's wire contract in the simplest way socket.io allows, so the same loader
// (loadtest/, `pushload`) and the same publisher drive it unchanged:
//
//   - Socket.IO namespaces /<tenant> (any slug; dynamic namespace), CONNECT with auth.token
//     (checked against --token when given, else only required to be present) and the stream from
//     auth.stream or the handshake query `stream`; the socket joins one room per stream.
//   - POST /event/v1/events {namespace, name, timestamp, payload} (pushgate's ingest body) emits
//     `<namespace>:<name>` with {tenantId, namespace, name, timestamp, payload} to the room of
//     every stream that lists that event (no map/criteria: the whole event, as pushgate without a
//     map). Answers 200 {"id": "..."} like pushgate.
//   - PATCH /configuration/v2/configuration/platform/push-service {"operation":"UPDATE",
//     "update":{<id>:{events:[{namespace,name}]}}} defines streams (what `pushload --setup-stream`
//     sends); stream `bench` = bench:tick exists from the start.
//   - GET /health; GET /debug/mem (forces a GC when run with --expose-gc, returns
//     process.memoryUsage() and the socket count).
//
// Memory is measured fairly: the handshake request object each Engine.IO socket would keep is
// dropped (socket.io performance-tuning guide), permessage-deflate is off (the default), and
// the WebSocket transport is the only one the loader uses.
//
// Usage: node --expose-gc server.mjs [--listen 127.0.0.1:3000] [--token T] [--ping-interval 25000]
import http from "node:http";
import { Server } from "socket.io";

const args = process.argv.slice(2);
function flag(name, def) {
  const i = args.indexOf("--" + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const listen = flag("listen", "127.0.0.1:3000");
const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
const token = flag("token", "");
const tenantId = flag("tenant-id", "urn:ads:platform:tenant-service:v2:/tenants/000000000000000000000001");
const pingInterval = Number(flag("ping-interval", "25000"));
const pingTimeout = Number(flag("ping-timeout", "20000"));

// stream id -> Set of "namespace:name"; event key -> array of stream ids (rebuilt on change).
const streams = new Map([["bench", new Set(["bench:tick"])]]);
let routes = new Map();
function rebuild() {
  routes = new Map();
  for (const [id, evs] of streams) {
    for (const k of evs) {
      if (!routes.has(k)) routes.set(k, []);
      routes.get(k).push(id);
    }
  }
}
rebuild();

let seq = 0;
const bootId = Math.floor(Date.now() / 1000);

function readBody(req, limit = 1_000_000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on("data", (c) => {
      n += c.length;
      if (n > limit) {
        reject(new Error("too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

const nsps = new Set(); // namespaces created so far (dynamic namespaces are created on first use)

const httpServer = http.createServer(async (req, res) => {
  try {
    const path = req.url.split("?")[0];
    if (req.method === "POST" && path === "/event/v1/events") {
      const ev = JSON.parse((await readBody(req)).toString("utf8"));
      if (typeof ev.namespace !== "string" || typeof ev.name !== "string") {
        return send(res, 400, { errorMessage: "namespace and name are required" });
      }
      const item = {
        tenantId,
        namespace: ev.namespace,
        name: ev.name,
        timestamp: ev.timestamp || new Date().toISOString(),
        payload: ev.payload ?? {},
      };
      const ids = routes.get(ev.namespace + ":" + ev.name);
      if (ids) {
        const event = ev.namespace + ":" + ev.name;
        for (const nsp of nsps) io.of(nsp).to(ids).emit(event, item);
      }
      return send(res, 200, { id: `${bootId}-${++seq}` });
    }
    if (req.method === "PATCH" && path.startsWith("/configuration/v2/configuration/platform/push-service")) {
      const doc = JSON.parse((await readBody(req)).toString("utf8"));
      const upd = doc.update || {};
      for (const [id, s] of Object.entries(upd)) {
        streams.set(id, new Set((s.events || []).map((e) => e.namespace + ":" + e.name)));
      }
      for (const id of doc.delete ? [].concat(doc.delete) : []) streams.delete(id);
      rebuild();
      return send(res, 200, { latest: { configuration: Object.fromEntries([...streams].map(([k, v]) => [k, [...v]])) } });
    }
    if (req.method === "GET" && (path === "/health" || path === "/livez" || path === "/readyz")) {
      return send(res, 200, { ok: true });
    }
    if (req.method === "GET" && path === "/debug/mem") {
      if (global.gc) global.gc();
      return send(res, 200, { ...process.memoryUsage(), sockets: io.engine.clientsCount });
    }
    send(res, 404, { errorMessage: "not found" });
  } catch (err) {
    send(res, 400, { errorMessage: String(err && err.message) });
  }
});

const io = new Server(httpServer, {
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: 1e6,
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  cors: { origin: true },
});

// Drop the handshake request each Engine.IO socket keeps (≈ 4 KB per connection).
io.engine.on("connection", (rawSocket) => {
  rawSocket.request = null;
});

const tenants = io.of(/^\/[A-Za-z0-9_-]+$/);
tenants.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  const t = auth.token || socket.handshake.query.token;
  if (!t || (token && t !== token)) {
    const err = new Error("User not authorized to connect.");
    err.data = { code: "unauthorized" };
    return next(err);
  }
  const stream = auth.stream || socket.handshake.query.stream;
  if (!stream || !streams.has(stream)) {
    const err = new Error("Stream not found.");
    err.data = { code: "not_found" };
    return next(err);
  }
  socket.data.stream = stream;
  next();
});
tenants.on("connection", (socket) => {
  nsps.add(socket.nsp.name);
  socket.join(socket.data.stream);
});

httpServer.listen({ host, port, backlog: 4096 }, () => {
  console.error(`node reference server (socket.io 4.8.4) listening on ${host}:${port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
