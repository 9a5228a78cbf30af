// ADSP drop-in interop (run by adsp_test.go): a tenant user's token from the tenant's UUID realm
// subscribes with the real npm clients — socket.io-client 4 on the tenant's namespace (polling,
// then the upgrade) and eventsource 3 on the SSE route with an Authorization header. Prints READY
// once both are subscribed, then DONE when both received the item whose payload carries MARK.
import { io } from "socket.io-client";
import { EventSource } from "eventsource";

const { PUSHGATE_URL: BASE, ADSP_TOKEN: TOKEN, ADSP_NAMESPACE: NSP, ADSP_STREAM: STREAM, ADSP_MARK: MARK } = process.env;
const deadline = setTimeout(() => {
  console.log("TIMEOUT");
  process.exit(2);
}, 20000);
const ready = { sio: false, sse: false };
const got = { sio: false, sse: false };
let announced = false;

const socket = io(`${BASE}/${NSP}`, { auth: { token: TOKEN }, query: { stream: STREAM }, reconnection: false });
const es = new EventSource(`${BASE}/stream/v1/streams/${STREAM}?tenant=${NSP}`, {
  fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, Authorization: `Bearer ${TOKEN}` } }),
});

function check() {
  if (ready.sio && ready.sse && !announced) {
    announced = true;
    console.log("READY");
  }
  if (got.sio && got.sse) {
    console.log("DONE");
    clearTimeout(deadline);
    socket.close();
    es.close();
    process.exit(0);
  }
}

socket.on("connect", () => {
  ready.sio = true;
  check();
});
socket.on("connect_error", (err) => {
  console.log(`connect_error ${err.message}`);
  process.exit(1);
});
socket.onAny((event, item) => {
  const s = JSON.stringify(item);
  console.log(`socket.io ${event} ${s}`);
  if (s.includes(MARK)) {
    got.sio = true;
    check();
  }
});
es.onopen = () => {
  ready.sse = true;
  check();
};
es.onmessage = (m) => {
  console.log(`sse ${m.data}`);
  if (m.data.includes(MARK)) {
    got.sse = true;
    check();
  }
};
es.onerror = (e) => {
  console.log(`sse error ${e.code ?? ""} ${e.message ?? ""}`);
  process.exit(1);
};
