// Verifies webhook deliveries recorded by webhook_test.go with the npm standardwebhooks package
// (the reference Standard Webhooks implementation). Input on stdin:
//   {"cases":[{"secret":"whsec_…","headers":{"webhook-id":…,"webhook-timestamp":…,"webhook-signature":…},
//              "body":"…","expect":true|false}]}
// Prints {"checked":N,"failures":[…]} and exits 1 when a case does not verify as expected.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { cases } = JSON.parse(input);
const failures = [];
for (const [i, c] of cases.entries()) {
  let ok = true;
  let error = "";
  try {
    new Webhook(c.secret).verify(c.body, c.headers);
  } catch (e) {
    ok = false;
    error = String(e && e.message);
  }
  if (ok !== c.expect) failures.push({ case: i, id: c.headers["webhook-id"], expect: c.expect, error });
}
console.log(JSON.stringify({ checked: cases.length, failures }));
process.exit(failures.length ? 1 : 0);
