// Socket.IO subscribers of interop/amqp_test.go: stock socket.io-client 4.8.4, one per instance
// URL, on stream STREAM of tenant demo. Prints "READY" once every client is connected, then
// "RESULT <json>" (the items each client got, by URL) once each has WANT items, and exits.
// Env: URLS (comma list), PUSHGATE_TOKEN, STREAM, EVENT (Socket.IO event name), WANT.
import { io } from "socket.io-client";

const urls = process.env.URLS.split(",");
const want = +process.env.WANT;
const fail = (m) => { console.log(`FAIL ${m}`); process.exit(1); };
setTimeout(() => fail("timeout"), 60_000).unref();
const got = Object.fromEntries(urls.map((u) => [u, []]));
let connected = 0;
for (const u of urls) {
  const s = io(`${u}/demo`, { forceNew: true, transports: ["websocket"], auth: { token: process.env.PUSHGATE_TOKEN }, query: { stream: process.env.STREAM } });
  s.on("connect_error", (e) => fail(`${u}: connect_error ${e.message}`));
  s.on("connect", () => { if (++connected === urls.length) console.log("READY"); });
  s.on(process.env.EVENT, (item) => {
    got[u].push(item);
    if (urls.every((x) => got[x].length >= want)) {
      setTimeout(() => { console.log(`RESULT ${JSON.stringify(got)}`); process.exit(0); }, 300); // late duplicates would show
    }
  });
}
