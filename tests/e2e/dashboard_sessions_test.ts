/**
 * The dashboard's "Mux sessions" panel in headless Chromium (playwright-core, Debian's chromium) against real
 * gost.ts processes: an entry `-F http+mtls://…` with the API; after curl requests through it the panel shows the
 * mtls session with its streams and bytes; closing the session (the node stops) empties it and shows the count.
 * The panel's data path (sessionRows) is also checked without a browser on the API's own answer.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
// test-only: the browser driver stays out of core/deps/ and the product
// deno-lint-ignore no-import-prefix
import { chromium } from "npm:playwright-core@1.65.1";
import { SESSION_COLUMNS, sessionRows } from "../../core/api/dashboard/sessions.js";
import { call, startApi } from "../helpers/api.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { namedOrigin } from "../helpers/process.ts";
import { curl } from "../helpers/run.ts";
import { eventually } from "../helpers/wait.ts";

const CHROMIUM = "/usr/bin/chromium";
const skip = (() => {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
})();
if (skip) console.log(`dashboard sessions browser test skipped: ${CHROMIUM} is missing`);

Deno.test({
  name: "dashboard: the Mux sessions panel shows the mtls session's streams and bytes, and the ended count",
  ignore: skip,
  fn: async () => {
    const origin = namedOrigin("hello");
    const [node, entry, apiPort] = [freePort(), freePort(), freePort()];
    const nodeProc = await startGost(["-L", `http+mtls://127.0.0.1:${node}`]);
    await using g = await startApi(
      ["-L", `http://127.0.0.1:${entry}`, "-F", `http+mtls://127.0.0.1:${node}`, "-api", `127.0.0.1:${apiPort}`],
      { apiPort, listening: 1 },
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      timeout: 15_000,
    });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await curl("-p", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/${i}`);
        equal(r.stdout, "hello", r.stderr);
      }
      // the data path on the API's own answer, once the last stream's close has reached the session (a stream ends
      // when both FINs have crossed, which may be after curl has its answer)
      let answer = (await call("GET", `${g.base}/sessions`)).body.data;
      await eventually(async () => {
        answer = (await call("GET", `${g.base}/sessions`)).body.data;
        return answer?.list?.[0]?.streamsOpen === 0;
      }, 10_000);
      const { rows } = sessionRows(answer, Date.now());
      equal(rows.length, 1);
      equal(rows[0].cells.length, SESSION_COLUMNS.length);
      deepEqual(rows[0].cells.slice(0, 3), ["chain-0", `node-0 (127.0.0.1:${node})`, "mtls"]);
      match(rows[0].cells[3], /^0 \/ 3$/);

      const page = await browser.newPage();
      page.setDefaultTimeout(8_000);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${g.base}/`);
      const row = page.locator('#sessions tr[data-session="chain-0/node-0"]');
      await row.waitFor();
      const cells = await row.locator("th, td").allTextContents();
      equal(cells[2], "mtls");
      equal(cells[3], "0 / 3");
      ok(/\d+ (B|KiB)$/.test(cells[4]) && cells[4] !== "0 B", `bytes in: ${cells[4]}`);
      ok(/\d+ (B|KiB)$/.test(cells[5]) && cells[5] !== "0 B", `bytes out: ${cells[5]}`);
      match(cells[7], /timeout 30s/);

      await nodeProc.stop("SIGKILL"); // the session ends (peer closed)
      await page.getByText("No multiplexed sessions").waitFor();
      await page.locator("#sessions-ended").filter({ hasText: /chain-0: 1 (peer|error)/ }).waitFor();
      deepEqual(errors, [], "no script errors");
    } finally {
      await browser.close();
      await nodeProc.stop("SIGKILL");
      await origin.close();
    }
  },
});
