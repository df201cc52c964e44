/**
 * The dashboard's "Tunnels" panel in headless Chromium (playwright-core, Debian's chromium) against real gost.ts
 * processes: a tunnel server with an entrypoint and the API, two tunnel clients of one id; after curl requests through
 * the entrypoint the panel shows the tunnel with both clients, the conns and the bytes; a killed client leaves one.
 * The panel's data path (tunnelRows) is also checked without a browser on the API's own answer.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
// test-only: the browser driver stays out of core/deps/ and the product
// deno-lint-ignore no-import-prefix
import { chromium } from "npm:playwright-core@1.65.1";
import { TUNNEL_COLUMNS, tunnelRows } from "../../core/api/dashboard/tunnels.js";
import { call, startApi } from "../helpers/api.ts";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { namedOrigin } from "../helpers/process.ts";
import { curl } from "../helpers/run.ts";
import { until } from "../helpers/wait.ts";

const CHROMIUM = "/usr/bin/chromium";
const ID = "4d21094e-b74c-4916-86c1-d9fa36ea677b";
const skip = (() => {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
})();
if (skip) console.log(`dashboard tunnels browser test skipped: ${CHROMIUM} is missing`);

function client(srv: number, originPort: number): Promise<GostProcess> {
  return startGost(["-L", `rtcp://:0/127.0.0.1:${originPort}`, "-F", `tunnel://127.0.0.1:${srv}?tunnel.id=${ID}`], {
    ready: (l) => /create tunnel on/.test(l),
    what: "its tunnel registered",
  });
}

Deno.test({
  name: "dashboard: the Tunnels panel shows the tunnel's clients, conns and bytes, and a killed client leaving",
  ignore: skip,
  fn: async () => {
    const origin = namedOrigin("hello");
    const [srv, ep, apiPort] = [freePort(), freePort(), freePort()];
    await using g = await startApi([
      "-L",
      `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&tunnel=app.test:${ID}`,
      "-api",
      `127.0.0.1:${apiPort}`,
    ], { apiPort, listening: 1 });
    const a = await client(srv, origin.port);
    await using _b = await client(srv, origin.port);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      timeout: 15_000,
    });
    try {
      await until(() => g.lines.filter((l) => /client \S+ registered/.test(l)).length >= 2, "two clients", 15_000);
      for (let i = 0; i < 4; i++) {
        const r = await curl("-H", "Host: app.test", `http://127.0.0.1:${ep}/${i}`);
        equal(r.stdout, "hello", r.stderr);
      }
      // the data path on the API's own answer
      const answer = (await call("GET", `${g.base}/tunnels`)).body.data;
      const { rows, entrypoints } = tunnelRows(answer);
      equal(rows.length, 1);
      equal(rows[0].cells.length, TUNNEL_COLUMNS.length);
      deepEqual(rows[0].cells.slice(0, 2), ["service-0", `${ID} (a6265c6d9847a4be)`]);
      match(rows[0].cells[2], /^2: 127\.0\.0\.1:\d+ \(tcp, w1, 0 open\); 127\.0\.0\.1:\d+ \(tcp, w1, 0 open\)$/);
      equal(rows[0].cells[3], "0 / 4");
      equal(entrypoints, `Entrypoints: service-0: 127.0.0.1:${ep}`);

      const page = await browser.newPage();
      page.setDefaultTimeout(8_000);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${g.base}/`);
      const row = page.locator(`#tunnels tr[data-tunnel="service-0/${ID}"]`);
      await row.waitFor();
      const cells = await row.locator("th, td").allTextContents();
      equal(cells[0], "service-0");
      match(cells[2], /^2: /);
      equal(cells[3], "0 / 4");
      ok(/\d+ (B|KiB)$/.test(cells[4]) && cells[4] !== "0 B", `bytes in: ${cells[4]}`);
      ok(/\d+ (B|KiB)$/.test(cells[5]) && cells[5] !== "0 B", `bytes out: ${cells[5]}`);
      await page.locator("#tunnels-entrypoints").filter({ hasText: `127.0.0.1:${ep}` }).waitFor();

      await a.stop("SIGKILL");
      await row.locator("td").filter({ hasText: /^1: 127\.0\.0\.1/ }).waitFor();
      deepEqual(errors, [], "no script errors");
    } finally {
      await browser.close();
      await a.stop("SIGKILL");
      await origin.close();
    }
  },
});
