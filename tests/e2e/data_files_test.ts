/**
 * GOST's `file` + `reload` data sources in a real gost.ts process, with curl over loopback: a bypass, an admission,
 * a hosts table and a hop's nodes read from files; each file is edited and the change is seen once the process logs
 * that it reloaded it, a bad line is warned about naming the file and the line while the good ones act, and a
 * deleted file keeps the last set.
 */
import { equal, notEqual, ok } from "node:assert/strict";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl, curlStatus } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { tempDir } from "../helpers/process.ts";
import { until } from "../helpers/wait.ts";

const seen = (gost: GostProcess, needle: string) => gost.lines.some((l) => l.includes(needle));
const count = (gost: GostProcess, needle: string) => gost.lines.filter((l) => l.includes(needle)).length;

/** Writes `text` and waits until the process has logged one more reload of `path`. */
async function edit(gost: GostProcess, path: string, text: string): Promise<void> {
  const before = count(gost, `reloaded ${path}:`);
  await Deno.writeTextFile(path, text);
  await until(() => count(gost, `reloaded ${path}:`) > before, `the reload of ${path}`, 10_000);
}

/** Deletes `path` and waits for the warning that the last set stays. */
async function remove(gost: GostProcess, path: string): Promise<void> {
  await Deno.remove(path);
  await until(() => seen(gost, `reload ${path}:`) && seen(gost, "keeping the last"), "the unreadable warning", 10_000);
}

Deno.test("a bypass file: listed targets refused, edits picked up, bad lines warned as file:line, deletion keeps the set", async () => {
  await tempDir(async (dir) => {
    const origin = httpOrigin();
    const port = freePort();
    const path = `${dir}/bypass.txt`;
    await Deno.writeTextFile(path, "# refused targets\n127.0.0.1\n");
    const cfg = {
      services: [{ name: "web", addr: `127.0.0.1:${port}`, handler: { type: "http" }, bypass: "b" }],
      bypasses: [{ name: "b", reload: "1s", file: { path }, matchers: ["inline.test"] }],
    };
    await using gost = await startGost(["-C", JSON.stringify(cfg)]);
    const status = (host: string) => curlStatus("-x", `http://127.0.0.1:${port}`, `http://${host}:${origin.port}/b`);
    equal(await status("127.0.0.1"), "403", "a listed target is refused");

    await edit(gost, path, "10.0.0.0/8\nnot a pattern\n127.0.0.2\n");
    ok(seen(gost, `bypass file ${path}:2: Invalid matcher`), gost.lines.join("\n"));
    ok(seen(gost, `reloaded ${path}: 3 matcher(s)`), "two good lines and the inline matcher");
    equal(await status("127.0.0.1"), "200", "a line removed from the file no longer refuses");
    equal(await status("127.0.0.2"), "403", "the good lines act beside the bad one");

    await remove(gost, path);
    equal(await status("127.0.0.2"), "403", "the last good set stays while the file is gone");
    equal(await status("127.0.0.1"), "200");
    await origin.close();
  });
});

Deno.test("an admission file: a listed client is refused, then admitted once the file changes", async () => {
  await tempDir(async (dir) => {
    const origin = httpOrigin();
    const port = freePort();
    const path = `${dir}/clients.txt`;
    await Deno.writeTextFile(path, "127.0.0.0/8\n");
    const cfg = {
      services: [{ name: "web", addr: `127.0.0.1:${port}`, handler: { type: "http" }, admission: "a" }],
      admissions: [{ name: "a", reload: "1s", file: { path } }],
    };
    await using gost = await startGost(["-C", JSON.stringify(cfg)]);
    const get = () => curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/a`);
    notEqual((await get()).code, 0, "a listed client is refused");

    await edit(gost, path, "10.0.0.0/8\n300.1.2.3\n");
    ok(seen(gost, `admission file ${path}:2:`), gost.lines.join("\n"));
    equal((await get()).stdout, "hello /a", "no longer listed: admitted");

    await edit(gost, path, "127.0.0.1\n");
    notEqual((await get()).code, 0, "listed again: refused");
    await remove(gost, path);
    notEqual((await get()).code, 0, "the last good set stays while the file is gone");
    await origin.close();
  });
});

Deno.test("a hosts file maps a name to a local origin; an edit moves it; deletion keeps the mapping", async () => {
  await tempDir(async (dir) => {
    const origin = httpOrigin();
    const port = freePort();
    const path = `${dir}/hosts`;
    await Deno.writeTextFile(path, "127.0.0.1 origin.test www.origin.test\n");
    const cfg = {
      services: [{ name: "web", addr: `127.0.0.1:${port}`, handler: { type: "http" }, hosts: "h" }],
      hosts: [{ name: "h", reload: "1s", file: { path } }],
    };
    await using gost = await startGost(["-C", JSON.stringify(cfg)]);
    const get = (host: string) => curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://${host}:${origin.port}/h`);
    equal((await get("www.origin.test")).stdout, "hello /h", "an alias maps too");

    await edit(gost, path, "127.0.0.1 moved.test\nnonsense-line\n");
    ok(seen(gost, `hosts file ${path}:2: expected`), gost.lines.join("\n"));
    equal((await get("moved.test")).stdout, "hello /h");
    notEqual((await get("origin.test")).stdout, "hello /h", "the old name is no longer mapped");

    await remove(gost, path);
    equal((await get("moved.test")).stdout, "hello /h", "the last good set stays while the file is gone");
    await origin.close();
  });
});

Deno.test("a hop's nodes from a JSON file: curl goes through the file's node, then through the node it changes to", async () => {
  await tempDir(async (dir) => {
    const origin = httpOrigin();
    const [up1, up2, entry] = [freePort(), freePort(), freePort()];
    await using one = await startGost(["-L", `http://127.0.0.1:${up1}`]);
    await using two = await startGost(["-L", `http://127.0.0.1:${up2}`]);
    const path = `${dir}/nodes.json`;
    const node = (name: string, p: number, type = "http") => ({
      name,
      addr: `127.0.0.1:${p}`,
      connector: { type },
      dialer: { type: "tcp" },
    });
    await Deno.writeTextFile(path, JSON.stringify([node("n1", up1)]));
    const cfg = {
      services: [{ name: "entry", addr: `127.0.0.1:${entry}`, handler: { type: "http", chain: "c" } }],
      chains: [{ name: "c", hops: [{ name: "h" }] }],
      hops: [{ name: "h", reload: "1s", file: { path } }],
    };
    await using gost = await startGost(["-C", JSON.stringify(cfg)]);
    const opened = (p: GostProcess) => p.lines.filter((l) => l.includes(" <> ")).length;
    const get = () => curl("-sS", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/hop`);

    equal((await get()).stdout, "hello /hop");
    await until(() => opened(one) === 1, "the conn through node n1", 10_000);
    equal(opened(two), 0);

    await edit(gost, path, `[\n${JSON.stringify(node("bad", up1, "nosuch"))},\n${JSON.stringify(node("n2", up2))}\n]`);
    ok(seen(gost, `hop file ${path}:2: node bad:`), gost.lines.join("\n"));
    ok(seen(gost, `reloaded ${path}: 1 node(s)`));
    equal((await get()).stdout, "hello /hop");
    await until(() => opened(two) === 1, "the conn through node n2", 10_000);
    equal(opened(one), 1, "the old node is no longer used");

    await remove(gost, path);
    equal((await get()).stdout, "hello /hop");
    await until(() => opened(two) === 2, "the last nodes stay while the file is gone", 10_000);
    await origin.close();
  });
});
