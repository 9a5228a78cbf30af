// SSE subscribers for pushgate. k6 has NO built-in SSE streaming: k6/http
// reads the whole response body before returning, so a text/event-stream
// never "completes". This script needs the community extension xk6-sse
// (https://github.com/phymbert/xk6-sse), imported as "k6/x/sse" — build a
// k6 binary with it (see k6/README.md):
//
//   xk6 build --with github.com/phymbert/xk6-sse
//   ./k6 run -e BASE_URL=http://127.0.0.1:8080 -e TENANT=demo -e STREAM=bench \
//            -e TOKEN="$TOKEN" -e VUS=200 -e DURATION=60s k6/sse-xk6.js
//
// sse.open blocks the VU while the stream is open. The connection is closed
// from the event callback once HOLD has passed, so with a quiet stream it
// stays open until the server's next event or heartbeat-less idle timeout.
import sse from 'k6/x/sse';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const TENANT = __ENV.TENANT || 'demo';
const STREAM = __ENV.STREAM || 'bench';
const TOKEN = __ENV.TOKEN || '';
const VUS = parseInt(__ENV.VUS || '100', 10);
const DURATION = __ENV.DURATION || '30s';
const HOLD_MS = parseInt(__ENV.HOLD_MS || '0', 10);

export const options = {
  scenarios: {
    sse: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '10s' },
  },
  thresholds: {
    event_latency: ['p(99)<250'],
    sse_errors: ['count==0'],
  },
};

const streamEvents = new Counter('stream_events');
const eventLatency = new Trend('event_latency', true);
const sseErrors = new Counter('sse_errors');
const sentAtRe = /"sentAt":\s*(\d+)/;

export default function () {
  const url = `${BASE_URL}/stream/v1/streams/${encodeURIComponent(STREAM)}?tenant=${encodeURIComponent(TENANT)}`;
  const params = { method: 'GET', headers: TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {}, tags: { name: 'sse' } };
  const started = Date.now();
  const res = sse.open(url, params, function (client) {
    client.on('event', function (event) {
      if (event.name === 'close') {
        client.close();
        return;
      }
      const m = sentAtRe.exec(event.data || '');
      if (m && m[1].length > 6) {
        streamEvents.add(1);
        const sentMs = Number(m[1].slice(0, -6)) + Number(m[1].slice(-6)) / 1e6;
        eventLatency.add(Date.now() - sentMs);
      }
      if (HOLD_MS > 0 && Date.now() - started > HOLD_MS) client.close();
    });
    client.on('error', function (e) {
      sseErrors.add(1);
      console.warn(`sse error: ${e.error()}`);
    });
  });
  check(res, { 'status 200': (r) => r && r.status === 200 });
}
