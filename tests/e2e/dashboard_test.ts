/**
 * The dashboard in headless Chromium (playwright-core, Debian's chromium) against a real gost.ts process: create
 * an http proxy through the form, watch its stats and graph move with traffic, edit it as YAML, see API errors
 * shown plainly, create and delete a chain, delete the service; and sign in through the page when the API answers
 * 401, under a path prefix. A failure saves a screenshot and prints its path.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
// test-only: the browser driver stays out of core/deps/ and the product
// deno-lint-ignore no-import-prefix
import { type Browser, chromium, type Page } from "npm:playwright-core@1.65.1";
import { freePort } from "../helpers/gost.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { call, exchange, startApi } from "../helpers/api.ts";
import { listening, until } from "../helpers/wait.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const skip = !hasChromium();
if (skip) console.log(`dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

/**
 * Runs `fn` with a fresh page; on failure saves a full-page screenshot to a temp dir and prints its path. The browser
 * is closed in every case, and a script error on the page fails the test.
 */
async function withPage(name: string, fn: (page: Page) => Promise<void>): Promise<void> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(8_000);
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("dialog", (d) => {
      pageErrors.push(`unexpected browser dialog: ${d.type()} ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    try {
      await fn(page);
      deepEqual(pageErrors, [], "no script errors or browser dialogs");
    } catch (err) {
      const dir = await Deno.makeTempDir({ prefix: "gost-dashboard-" });
      const path = `${dir}/${name}.png`;
      const saved = await page.screenshot({ path, fullPage: true }).then(() => true, () => false);
      console.error(saved ? `dashboard test "${name}" failed: screenshot at ${path}` : "screenshot failed too");
      if (pageErrors.length) console.error(`page errors:\n${pageErrors.join("\n")}`);
      throw err;
    }
  } finally {
    await browser.close();
  }
}

/** Reads `data-value` of every stat of a service card. */
async function cardStats(page: Page, name: string): Promise<Record<string, number>> {
  const stats = page.locator(`article[data-name="${name}"] [data-stat]`);
  const out: Record<string, number> = {};
  for (const el of await stats.all()) {
    out[(await el.getAttribute("data-stat"))!] = Number(await el.getAttribute("data-value"));
  }
  return out;
}

Deno.test({
  name: "dashboard creates an http proxy through its form, shows its stats and graph move, edits it as YAML, " +
    "shows API errors plainly, creates and deletes a chain, deletes the service",
  ignore: skip,
  fn: async () => {
    const origin = httpOrigin();
    const apiPort = freePort();
    const port = freePort();
    try {
      await using g = await startApi(["-api", `127.0.0.1:${apiPort}`], { apiPort });
      await withPage("create-stats-edit-delete", async (page) => {
        await page.goto(`${g.base}/`);
        await page.getByText("No services yet").waitFor();
        await page.getByText(/^Live/).waitFor();

        // create through the form
        await page.getByRole("button", { name: "New service" }).click();
        const editor = page.locator("#editor");
        await editor.getByRole("textbox", { name: "Name", exact: true }).fill("web");
        await editor.getByRole("textbox", { name: "Address" }).fill(`127.0.0.1:${port}`);
        await editor.getByRole("combobox", { name: "Handler" }).fill("http");
        await editor.getByRole("checkbox", { name: /Enable stats/ }).check();
        await editor.getByRole("button", { name: "Create" }).click();
        await editor.waitFor({ state: "hidden" });
        await page.getByRole("status").filter({ hasText: "Service web created" }).waitFor();
        const card = page.locator('article[data-name="web"]');
        await card.locator('[data-field="state"]').filter({ hasText: /^ready$/ }).waitFor();
        equal(await card.locator('[data-field="addr"]').textContent(), `127.0.0.1:${port}`);
        equal(await card.locator('[data-field="types"]').textContent(), "http · tcp");
        match(await card.locator(".events summary").textContent() ?? "", /Events \(3\).*service web is listening on/);
        const created = (await call("GET", `${g.base}/config/services/web`)).body.data;
        deepEqual(
          { name: created.name, addr: created.addr, handler: created.handler, metadata: created.metadata },
          { name: "web", addr: `127.0.0.1:${port}`, handler: { type: "http" }, metadata: { enableStats: true } },
        );
        deepEqual(await cardStats(page, "web"), {
          currentConns: 0,
          totalConns: 0,
          totalErrs: 0,
          inputBytes: 0,
          outputBytes: 0,
        });

        // traffic through it: the page's counters and graph move by themselves
        const N = 5;
        const req = `GET http://127.0.0.1:${origin.port}/dash HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
        let output = 0;
        for (let i = 0; i < N; i++) output += (await exchange(port, req)).length;
        ok(output > N * 20, "the proxy answered");
        const want = { currentConns: 0, totalConns: N, totalErrs: 0, inputBytes: N * req.length, outputBytes: output };
        let seen: Record<string, number> = {};
        await until(
          async () => {
            seen = await cardStats(page, "web");
            return JSON.stringify(seen) === JSON.stringify(want);
          },
          `the page to show ${JSON.stringify(want)}`,
          8_000,
        ).catch((err) => {
          throw new Error(`${err.message}; it shows ${JSON.stringify(seen)}`);
        });
        equal(await card.locator('[data-stat="totalConns"]').textContent(), String(N));
        match(await card.locator('[data-stat="inputBytes"]').textContent() ?? "", /^\d+(\.\d+)? (B|KiB)$/);
        const peak = async (sel: string) => Number(await page.locator(sel).getAttribute("data-peak"));
        await until(
          async () => await peak('article[data-name="web"] .graph') > 0 && await peak("#total-graph") > 0,
          "the graphs to rise",
          5_000,
        );
        const points = await card.locator("polyline.line.in").getAttribute("points");
        ok((points ?? "").split(" ").length >= 2, `the graph has a line: ${points}`);

        // edit as YAML: a bad document shows the parser's error, a good one restarts the service
        await card.getByRole("button", { name: "Edit service web" }).click();
        await editor.getByRole("tab", { name: "YAML" }).click();
        const text = editor.getByRole("textbox", { name: "Service as YAML" });
        const yaml = await text.inputValue();
        match(yaml, /^name: web\naddr: 127\.0\.0\.1:\d+\nhandler:\n {2}type: http\n/);
        await text.fill("name: web\n  addr: [\n");
        await editor.getByRole("button", { name: "Save" }).click();
        await editor.getByRole("alert").filter({ hasText: /Error 40001\s*YAML at line \d+, column \d+/ }).waitFor();
        await text.fill(yaml.replace("enableStats: true", "enableStats: true\n  note: edited-in-yaml"));
        await editor.getByRole("button", { name: "Save" }).click();
        await editor.waitFor({ state: "hidden" });
        await page.getByRole("status").filter({ hasText: "Service web saved" }).waitFor();
        equal((await call("GET", `${g.base}/config/services/web`)).body.data.metadata.note, "edited-in-yaml");
        // PUT restarts the service: its counters start again from zero
        await until(async () => (await cardStats(page, "web")).totalConns === 0, "the counters to reset", 5_000);
        await card.locator('[data-field="state"]').filter({ hasText: /^ready$/ }).waitFor();

        // an API error (duplicate name) is shown as the API sent it
        const dupBody = {
          name: "web",
          addr: `127.0.0.1:${freePort()}`,
          handler: { type: "http" },
          listener: { type: "tcp" },
        };
        const dup = await call("POST", `${g.base}/config/services`, dupBody);
        equal(dup.status, 400);
        equal(dup.body.code, 40002);
        await page.getByRole("button", { name: "New service" }).click();
        await editor.getByRole("textbox", { name: "Name", exact: true }).fill("web");
        await editor.getByRole("textbox", { name: "Address" }).fill(dupBody.addr);
        await editor.getByRole("button", { name: "Create" }).click();
        const banner = editor.getByRole("alert");
        await banner.filter({ hasText: dup.body.msg }).waitFor();
        match(await banner.textContent() ?? "", /^Error 40002\s*services\.name: .*HTTP 400 · POST \/config\/services/);
        await editor.getByRole("button", { name: "Cancel" }).click();
        await editor.waitFor({ state: "hidden" });

        // a chain: created through its form (or, while the server cannot build it, its error shown as sent)
        const chainBody = {
          name: "probe",
          hops: [{
            name: "hop-0",
            nodes: [{
              name: "node-0",
              addr: "127.0.0.1:1080",
              connector: { type: "socks5", auth: { username: "u", password: "p" } },
              dialer: { type: "tcp" },
            }],
          }],
        };
        const probe = await call("POST", `${g.base}/config/chains`, chainBody);
        if (probe.status === 200) await call("DELETE", `${g.base}/config/chains/probe`);
        await page.getByRole("button", { name: "New chain" }).click();
        await editor.getByRole("textbox", { name: "Name", exact: true }).fill("c1");
        await editor.getByRole("textbox", { name: "Nodes" }).fill("socks5://u:p@127.0.0.1:1080");
        await editor.getByRole("button", { name: "Create" }).click();
        if (probe.status === 200) {
          const row = page.locator('#chains tr[data-name="c1"]');
          await row.filter({ hasText: "127.0.0.1:1080" }).waitFor();
          const node = (await call("GET", `${g.base}/config/chains/c1`)).body.data.hops[0].nodes[0];
          deepEqual(
            { name: node.name, addr: node.addr, connector: node.connector, dialer: node.dialer },
            chainBody.hops[0].nodes[0],
          );
          // edit it as JSON: the form's view of it is kept, the address changes
          await row.getByRole("button", { name: "Edit chain c1" }).click();
          equal(await editor.getByRole("textbox", { name: "Nodes" }).inputValue(), "socks5://u:p@127.0.0.1:1080");
          await editor.getByRole("tab", { name: "JSON" }).click();
          const json = editor.getByRole("textbox", { name: "Chain as JSON" });
          const edited = JSON.parse(await json.inputValue());
          equal(edited.hops[0].nodes[0].addr, "127.0.0.1:1080");
          edited.hops[0].nodes[0].addr = "127.0.0.1:1081";
          await json.fill(JSON.stringify(edited, null, 2));
          await editor.getByRole("tab", { name: "Form" }).click();
          equal(await editor.getByRole("textbox", { name: "Nodes" }).inputValue(), "socks5://u:p@127.0.0.1:1081");
          await editor.getByRole("button", { name: "Save" }).click();
          await row.filter({ hasText: "127.0.0.1:1081" }).waitFor();
          equal((await call("GET", `${g.base}/config/chains/c1`)).body.data.hops[0].nodes[0].addr, "127.0.0.1:1081");
          await row.getByRole("button", { name: "Delete chain c1" }).click();
          await page.locator("#confirm").getByRole("button", { name: "Delete" }).click();
          await row.waitFor({ state: "detached" });
        } else {
          console.log(`chain create not available on the server yet: ${probe.body?.msg}`);
          await editor.getByRole("alert").filter({ hasText: probe.body.msg.replaceAll("probe", "c1") }).waitFor();
          await editor.getByRole("button", { name: "Cancel" }).click();
        }

        // delete the service, with confirmation
        await card.getByRole("button", { name: "Delete service web" }).click();
        const confirm = page.locator("#confirm");
        await confirm.getByRole("heading", { name: "Delete service web?" }).waitFor();
        await confirm.getByRole("button", { name: "Cancel" }).click();
        equal(await card.count(), 1, "cancel keeps it");
        await card.getByRole("button", { name: "Delete service web" }).click();
        await confirm.getByRole("button", { name: "Delete" }).click();
        await card.waitFor({ state: "detached" });
        await page.getByText("No services yet").waitFor();
        equal((await call("GET", `${g.base}/config/services`)).body.data.count, 0);
        ok(!(await listening(port)), "the port is free");
      });
    } finally {
      await origin.close();
    }
  },
});

Deno.test({
  name: "dashboard asks for the API's credentials in the page (no browser prompt) when /config answers 401, " +
    "under a path prefix",
  ignore: skip,
  fn: async () => {
    const apiPort = freePort();
    const port = freePort();
    await using g = await startApi(
      ["-api", `admin:s3cret@127.0.0.1:${apiPort}?pathPrefix=/api`, "-L", `http://127.0.0.1:${port}`],
      { apiPort, prefix: "/api", listening: 1 },
    );
    equal(
      (await fetch(`${g.base}/ui`).then(async (r) => [r.status, await r.text()]))[0],
      200,
      "the page needs no auth",
    );
    equal((await call("GET", `${g.base}/config`)).status, 401);
    await withPage("login", async (page) => {
      await page.goto(`${g.base}/ui`);
      const login = page.locator("#login");
      await login.getByRole("heading", { name: "Sign in to the API" }).waitFor();
      ok(await page.locator("#services-section").isHidden());
      equal(await login.getByRole("alert").count(), 0, "no error before the first try");

      await login.getByRole("textbox", { name: "Username" }).fill("admin");
      await login.getByLabel("Password").fill("wrong");
      await login.getByRole("button", { name: "Sign in" }).click();
      await login.getByRole("alert").filter({ hasText: /Error 401\s*Unauthorized/ }).waitFor();

      await login.getByLabel("Password").fill("s3cret");
      await login.getByRole("button", { name: "Sign in" }).click();
      const card = page.locator('article[data-name="service-0"]');
      await card.locator('[data-field="state"]').filter({ hasText: /^ready$/ }).waitFor();
      ok(await login.isHidden());
      match(await card.locator(".no-stats").textContent() ?? "", /Stats are off/);

      // the credentials last for the tab; signing out asks again
      await page.reload();
      await card.locator('[data-field="state"]').filter({ hasText: /^ready$/ }).waitFor();
      await page.getByRole("button", { name: "Sign out" }).click();
      await login.getByRole("heading", { name: "Sign in to the API" }).waitFor();
    });
  },
});
