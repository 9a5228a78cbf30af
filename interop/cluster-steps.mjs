// The step helpers of the cluster scenarios (cluster-clients.mjs, cluster-kill.mjs): a failed
// step prints "FAIL <why>" (the Go side reports it) and ends the process.

export const fail = (msg) => {
  console.log(`FAIL ${msg}`);
  process.exit(1);
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waiter returns waitFor(what, pred, ms = stepMs): polls pred every 20 ms, fails after ms.
export function waiter(stepMs) {
  return async function waitFor(what, pred, ms = stepMs) {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) fail(`${what}: not within ${ms} ms`);
      await sleep(20);
    }
  };
}
