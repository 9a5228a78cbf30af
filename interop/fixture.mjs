// Shared by product.test.mjs and sse.test.mjs: the fixture written by interop/product_test.go
// (PUSHGATE_FIXTURE: { url, bin, dataDir, tenants: {demo, acme}, tokens: {demo, acme, core},
// timings }) and token helpers — tokens are minted with `pushgate token` exactly as the README
// does; forged ones (wrong aud/iss, unknown kid, alg none, HS256) are signed with node:crypto.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import crypto from "node:crypto";

export const FX = JSON.parse(readFileSync(process.env.PUSHGATE_FIXTURE, "utf8"));
export const BASE = (process.env.PUSHGATE_URL || FX.url).replace(/\/+$/, "");
export const DEMO = FX.tenants.demo;
export const ACME = FX.tenants.acme;
export const DEMO_TOKEN = FX.tokens.demo; // stream-listener, event-sender, configuration-admin (README roles)
export const ACME_TOKEN = FX.tokens.acme;
export const CORE_TOKEN = FX.tokens.core; // core: stream-listener, platform-service, configuration-admin, event-sender
export const QS_ROLES =
  "stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin";
export const CONFIG = "/configuration/v2/configuration/platform/push-service";
export const T = { timeout: 30_000 };

/** Mints a development token with the CLI, as the README does. */
export function mint({ tenant, core = false, roles = "", ttl, sub, name } = {}) {
  const args = ["token", "--data-dir", FX.dataDir];
  if (core) args.push("--core");
  else args.push("--tenant", tenant ?? "demo");
  if (roles) args.push("--roles", roles);
  if (ttl) args.push("--ttl", ttl);
  if (sub) args.push("--sub", sub);
  if (name) args.push("--name", name);
  return execFileSync(FX.bin, args, { encoding: "utf8" }).trim();
}

const b64u = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const devKey = crypto.createPrivateKey(readFileSync(join(FX.dataDir, "dev-signing-key.pem")));
const devIssuer = JSON.parse(readFileSync(join(FX.dataDir, "dev-issuer.json"), "utf8"));

export function sign(header, claims, { key = devKey, hmac } = {}) {
  const input = `${b64u(header)}.${b64u(claims)}`;
  let sig;
  if (header.alg === "none") sig = "";
  else if (hmac) sig = crypto.createHmac("sha256", hmac).update(input).digest("base64url");
  else sig = crypto.sign("sha256", Buffer.from(input), key).toString("base64url");
  return `${input}.${sig}`;
}

export function claims(over = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: `${devIssuer.issuerBase}/realms/demo`,
    sub: "forged-user",
    aud: ["urn:ads:platform:push-service"],
    iat: now,
    exp: now + 3600,
    realm_access: { roles: ["stream-listener"] },
    ...over,
  };
}

/** Every kind of bad token, plus a correctly forged one that must be accepted (proves the forging). */
export function forgedTokens() {
  const hdr = { alg: "RS256", typ: "JWT", kid: devIssuer.kid };
  const otherKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const publicPem = crypto.createPublicKey(devKey).export({ type: "spki", format: "pem" });
  return {
    valid: sign(hdr, claims()),
    bad: {
      expired: mint({ tenant: "demo", roles: QS_ROLES, ttl: "-1h" }),
      "wrong aud": sign(hdr, claims({ aud: ["account"] })),
      "wrong iss": sign(hdr, claims({ iss: "http://evil.example/auth/realms/demo" })),
      "unknown kid": sign({ ...hdr, kid: "no-such-kid" }, claims(), { key: otherKey }),
      "alg none": sign({ alg: "none", typ: "JWT", kid: devIssuer.kid }, claims()),
      "HS256 with the public key": sign({ alg: "HS256", typ: "JWT", kid: devIssuer.kid }, claims(), { hmac: publicPem }),
      garbage: "garbage.not-a.jwt",
    },
  };
}

/**
 * A list of received items that tests can await: push(x) appends and wakes the waiters;
 * until(pred, ms, what) resolves with the list once pred(list) holds, or rejects after ms with
 * show(list) in the message. Shared by the Socket.IO and SSE recorders.
 */
export function awaitable(show = (items) => JSON.stringify(items)) {
  const items = [];
  let waiters = [];
  const push = (x) => {
    items.push(x);
    for (const w of waiters) w();
  };
  const until = (pred, ms = 5000, what = "condition") =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (pred(items)) {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== check);
          resolve(items);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${show(items)}`));
      }, ms);
      if (!check()) waiters.push(check);
    });
  return { items, push, until };
}
