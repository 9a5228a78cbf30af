// Socket.IO v4 subscribers for pushgate, over a raw WebSocket (Engine.IO v4,
// transport=websocket only), using only k6 built-ins.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e TENANT=demo -e STREAM=bench \
//          -e TOKEN="$TOKEN" -e VUS=500 -e DURATION=60s k6/socketio.js
//
// Each VU opens one connection, joins the tenant namespace with auth.token,
// answers every Engine.IO ping ("2" -> "3") and, for every stream event,
// counts it (stream_events) and records latency = now - payload.sentAt
// (event_latency, ms; the publisher stamps sentAt in Unix nanoseconds on the
// same host clock, see k6/publish.js or pushload --publish-rate).
import ws from 'k6/ws';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const TENANT = __ENV.TENANT || 'demo';
const STREAM = __ENV.STREAM || 'bench';
const TOKEN = __ENV.TOKEN || '';
const VUS = parseInt(__ENV.VUS || '100', 10);
const DURATION = __ENV.DURATION || '30s';
// How long each connection stays open (default: the whole test).
const HOLD = __ENV.HOLD || DURATION;
// Socket.IO namespace: the tenant slug ("/" for the conformance fixture).
const NAMESPACE = __ENV.NAMESPACE || `/${TENANT}`;

export const options = {
  scenarios: {
    subscribers: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '10s' },
  },
  thresholds: {
    ws_connecting: ['p(95)<1000'],
    event_latency: ['p(99)<250'],
    sio_connect_errors: ['count==0'],
  },
};

const streamEvents = new Counter('stream_events');
const eventLatency = new Trend('event_latency', true);
const connectErrors = new Counter('sio_connect_errors');
const sioConnects = new Counter('sio_connects');
const pongs = new Counter('eio_pongs');

function durationMs(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) return 30000;
  return parseFloat(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]];
}

function wsURL() {
  const base = BASE_URL.replace(/^http/, 'ws').replace(/\/$/, '');
  return `${base}/socket.io/?EIO=4&transport=websocket&stream=${encodeURIComponent(STREAM)}`;
}

// Engine.IO "4" + Socket.IO "0"/"2"/"4" + namespace (omitted when "/") + ",".
function prefix(type) {
  return NAMESPACE === '/' ? `4${type}` : `4${type}${NAMESPACE},`;
}

const connectPacket = prefix(0) + JSON.stringify({ token: TOKEN, stream: STREAM });
const eventPrefix = prefix(2);
const okPrefix = prefix(0);
const errPrefix = prefix(4);
const sentAtRe = /"sentAt":\s*(\d+)/;

export default function () {
  const res = ws.connect(wsURL(), {}, function (socket) {
    socket.on('message', function (msg) {
      switch (msg[0]) {
        case '0': // Engine.IO open: join the namespace
          socket.send(connectPacket);
          return;
        case '2': // ping: answer at once or the server drops us
          socket.send('3' + msg.slice(1));
          pongs.add(1);
          return;
        case '1': // Engine.IO close
          socket.close();
          return;
        case '4':
          break;
        default:
          return;
      }
      if (msg.startsWith(eventPrefix)) {
        streamEvents.add(1);
        const m = sentAtRe.exec(msg);
        if (m && m[1].length > 6) {
          // Unix nanos -> ms without losing precision in a double.
          const sentMs = Number(m[1].slice(0, -6)) + Number(m[1].slice(-6)) / 1e6;
          eventLatency.add(Date.now() - sentMs);
        }
      } else if (msg.startsWith(errPrefix)) {
        connectErrors.add(1);
        console.warn(`CONNECT_ERROR: ${msg}`);
        socket.close();
      } else if (msg.startsWith(okPrefix)) {
        sioConnects.add(1);
      }
    });
    socket.on('error', function (e) {
      if (e.error() !== 'websocket: close sent') console.warn(`ws error: ${e.error()}`);
    });
    socket.setTimeout(function () {
      socket.close();
    }, durationMs(HOLD));
  });
  check(res, { 'upgraded (101)': (r) => r && r.status === 101 });
}
