// Publisher for pushgate benchmarks: POST /event/v1/events at a constant
// arrival rate, each payload stamped with sentAt (Unix nanoseconds at send
// time), a sequence number and padding, so subscribers (k6/socketio.js,
// k6/sse-xk6.js, pushload) can compute delivery latency.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e TOKEN="$TOKEN" \
//          -e RATE=10 -e DURATION=60s -e PAYLOAD_BYTES=100 k6/publish.js
//
// SETUP_STREAM=1 first creates the stream (needs a token with the
// configuration-admin role). Note: k6 stamps sentAt when the request is
// made, so unlike pushload (which stamps the scheduled time) a stalled
// server hides part of its latency here (coordinated omission).
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const TOKEN = __ENV.TOKEN || '';
const STREAM = __ENV.STREAM || 'bench';
const EVENT_NAMESPACE = __ENV.EVENT_NAMESPACE || 'bench';
const EVENT_NAME = __ENV.EVENT_NAME || 'tick';
const RATE = parseInt(__ENV.RATE || '10', 10);
const DURATION = __ENV.DURATION || '30s';
const PAYLOAD_BYTES = parseInt(__ENV.PAYLOAD_BYTES || '100', 10);
const VUS = parseInt(__ENV.VUS || '10', 10);

export const options = {
  scenarios: {
    publish: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: VUS,
      maxVUs: VUS * 4,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<200'],
  },
};

const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` };

export function setup() {
  if (__ENV.SETUP_STREAM !== '1') return;
  const body = {
    operation: 'UPDATE',
    update: {
      [STREAM]: {
        id: STREAM, name: STREAM, publicSubscribe: true, subscriberRoles: [],
        events: [{ namespace: EVENT_NAMESPACE, name: EVENT_NAME }],
      },
    },
  };
  const r = http.patch(`${BASE_URL}/configuration/v2/configuration/platform/push-service`, JSON.stringify(body), { headers });
  check(r, { 'stream created': (x) => x.status >= 200 && x.status < 300 });
}

export default function () {
  const seq = exec.scenario.iterationInTest + 1;
  const now = Date.now();
  // Written as raw JSON so sentAt keeps all its digits (it exceeds 2^53).
  const head = `{"sentAt":${now}000000,"seq":${seq},"pad":"`;
  const pad = 'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length - 2));
  const body = `{"namespace":${JSON.stringify(EVENT_NAMESPACE)},"name":${JSON.stringify(EVENT_NAME)},` +
    `"timestamp":"${new Date(now).toISOString()}","payload":${head}${pad}"}}`;
  const r = http.post(`${BASE_URL}/event/v1/events`, body, { headers, tags: { name: 'publish' } });
  check(r, { 'accepted (200/202)': (x) => x.status === 200 || x.status === 202 });
}
