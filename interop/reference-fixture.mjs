// Reference conformance fixture: the real socket.io 4.8.4 / engine.io 6.6.12 implementing the same
// contract as `pushgate conformance-server` (see shared notes socketio-protocol.md §4.3), plus the
// extra behaviours used by interop/socketio.test.mjs.
//
//   PORT=3000 PING_INTERVAL=300 PING_TIMEOUT=200 CONNECT_TIMEOUT=1000 node interop/reference-fixture.mjs
//
// One HTTP server, all interfaces (the official suites hard-code http://localhost:3000):
//   /engine.io/  raw Engine.IO server echoing every message (text as text, binary as binary)
//   /socket.io/  Socket.IO server with namespaces:
//     /               emits "auth" <handshake auth> on connection;
//                     "message" (...args)        -> emit "message-back" (...args)
//                     "message-with-ack" (...args, ack) -> ack(...args)
//                     "server-disconnect"        -> socket.disconnect()
//                     "emit-to-me" (name, value) -> emit name (value)
//     /custom         emits "auth" <handshake auth> on connection (+ message / message-with-ack)
//     /auth-required  CONNECT_ERROR {"message":"not authorized","data":{"code":"unauthorized"}}
//                     unless auth.token === "secret"; then like /custom
// Any other namespace is refused with "Invalid namespace" (socket.io default).

import { createServer } from "node:http";
import { Server as EngineServer } from "engine.io";
import { Server as SocketIOServer } from "socket.io";

function envInt(name, def) {
  const v = process.env[name];
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number of milliseconds, got ${v}`);
  return n;
}

const port = envInt("PORT", 3000);
const host = process.env.HOST || undefined; // undefined = all interfaces
const pingInterval = envInt("PING_INTERVAL", 300);
const pingTimeout = envInt("PING_TIMEOUT", 200);
const connectTimeout = envInt("CONNECT_TIMEOUT", 1000);

const httpServer = createServer();

// --- raw Engine.IO echo server at /engine.io/ -------------------------------------------------
const engine = new EngineServer({
  pingInterval,
  pingTimeout,
  cors: { origin: "*" },
});
engine.attach(httpServer, { path: "/engine.io/", destroyUpgrade: false });
engine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});

// --- Socket.IO server at /socket.io/ ----------------------------------------------------------
const io = new SocketIOServer(httpServer, {
  path: "/socket.io/",
  pingInterval,
  pingTimeout,
  connectTimeout,
  serveClient: false,
  destroyUpgrade: false,
  cors: { origin: "*" },
});

function echoHandlers(socket) {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
}

io.of("/").on("connection", (socket) => {
  echoHandlers(socket);
  socket.on("server-disconnect", () => socket.disconnect());
  socket.on("emit-to-me", (name, value) => socket.emit(name, value));
});

io.of("/custom").on("connection", echoHandlers);

const authRequired = io.of("/auth-required");
authRequired.use((socket, next) => {
  const auth = socket.handshake.auth;
  if (auth && auth.token === "secret") return next();
  const err = new Error("not authorized");
  err.data = { code: "unauthorized" };
  next(err);
});
authRequired.on("connection", echoHandlers);

httpServer.listen(port, host, () => {
  const addr = httpServer.address();
  console.log(
    `reference fixture (socket.io 4.8.4) listening on ${addr.address}:${addr.port} ` +
      `pingInterval=${pingInterval} pingTimeout=${pingTimeout} connectTimeout=${connectTimeout}`,
  );
});

function shutdown() {
  io.close();
  engine.close();
  httpServer.close();
  httpServer.closeAllConnections?.();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
