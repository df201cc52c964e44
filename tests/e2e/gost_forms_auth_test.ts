/**
 * The authentication forms GOST users write, against real gost.ts processes and curl over loopback:
 * `?auth=BASE64` on -L and -F, `skipauth`, `handler.auth.file`, `connector.auth.file` and a reloading auther file.
 */
import { equal, notEqual, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl, curlStatus } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gost-auth-e2e-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("?auth=BASE64 on -L and -F gives the credentials; user:pass@ in the same URL wins (GOST's code)", async () => {
  const origin = httpOrigin();
  const server = freePort();
  const both = freePort();
  const client = freePort();
  const enc = btoa("q:p@ss w0rd");
  await using _server = await startGost(["-L", `socks5://127.0.0.1:${server}?auth=${enc}`]);
  await using _both = await startGost(["-L", `socks5://u:p@127.0.0.1:${both}?auth=${enc}`]);
  await using _client = await startGost([
    "-L",
    `http://127.0.0.1:${client}`,
    "-F",
    `socks5://127.0.0.1:${server}?auth=${enc}`,
  ]);
  const url = `http://127.0.0.1:${origin.port}/a`;
  const direct = await curl("--socks5", `127.0.0.1:${server}`, "--proxy-user", "q:p@ss w0rd", url);
  equal(direct.code, 0, direct.stderr);
  equal(direct.stdout, "hello /a");
  notEqual((await curl("--socks5", `127.0.0.1:${server}`, "--proxy-user", "q:wrong", url)).code, 0);
  // user info and ?auth= in one URL: the user info is the credentials
  const urlUser = await curl("--socks5", `127.0.0.1:${both}`, "--proxy-user", "u:p", url);
  equal(urlUser.stdout, "hello /a", urlUser.stderr);
  notEqual((await curl("--socks5", `127.0.0.1:${both}`, "--proxy-user", "q:p@ss w0rd", url)).code, 0);
  // the -F node sends ?auth='s credentials
  const chained = await curl("-x", `http://127.0.0.1:${client}`, url);
  equal(chained.code, 0, chained.stderr);
  equal(chained.stdout, "hello /a");
  await origin.close();
});

Deno.test("skipauth lets listed client addresses in without credentials, on HTTP and SOCKS5", async () => {
  const origin = httpOrigin();
  const port = freePort();
  await using _gost = await startGost(["-L", `auto://u:p@127.0.0.1:${port}?skipauth=127.0.0.2/32`]);
  const url = `http://127.0.0.1:${origin.port}/skip`;
  const listed = ["--interface", "127.0.0.2"];
  equal(await curlStatus(...listed, "-x", `http://127.0.0.1:${port}`, url), "200");
  const socks = await curl(...listed, "--socks5", `127.0.0.1:${port}`, url);
  equal(socks.code, 0, socks.stderr);
  equal(socks.stdout, "hello /skip");
  const listedWithCreds = await curl(...listed, "-x", `http://u:p@127.0.0.1:${port}`, url);
  equal(listedWithCreds.stdout, "hello /skip", "credentials from a listed client do no harm");
  // 127.0.0.1 is not listed: credentials are required
  equal(await curlStatus("-x", `http://127.0.0.1:${port}`, url), "407");
  notEqual((await curl("--socks5", `127.0.0.1:${port}`, url)).code, 0);
  equal(await curlStatus("-x", `http://u:p@127.0.0.1:${port}`, url), "200");
  await origin.close();
});

Deno.test("handler.auth.file and connector.auth.file load credentials in GOST's file format", async () => {
  await withDir(async (dir) => {
    const origin = httpOrigin();
    const server = freePort();
    const client = freePort();
    await Deno.writeTextFile(`${dir}/users`, "# user password\nalice   #s3cret\nbob\n");
    await Deno.writeTextFile(`${dir}/upstream`, "alice #s3cret\n");
    const serverCfg = {
      services: [{
        name: "socks",
        addr: `127.0.0.1:${server}`,
        handler: { type: "socks5", auth: { file: `${dir}/users` } },
      }],
    };
    await using srv = await startGost(["-C", JSON.stringify(serverCfg)]);
    ok(
      srv.lines.some((l) => l.includes(`${dir}/users:3`) && l.includes("no password")),
      `the password-less line is warned about:\n${srv.lines.join("\n")}`,
    );
    const clientCfg = {
      services: [{ name: "front", addr: `127.0.0.1:${client}`, handler: { type: "http", chain: "up" } }],
      chains: [{
        name: "up",
        hops: [{
          name: "h",
          nodes: [{
            name: "n",
            addr: `127.0.0.1:${server}`,
            connector: { type: "socks5", auth: { file: `${dir}/upstream` } },
          }],
        }],
      }],
    };
    await using _cli = await startGost(["-C", JSON.stringify(clientCfg)]);
    const url = `http://127.0.0.1:${origin.port}/file`;
    const direct = await curl("--socks5", `127.0.0.1:${server}`, "--proxy-user", "alice:#s3cret", url);
    equal(direct.stdout, "hello /file", direct.stderr);
    notEqual((await curl("--socks5", `127.0.0.1:${server}`, "--proxy-user", "bob:", url)).code, 0);
    const chained = await curl("-x", `http://127.0.0.1:${client}`, url);
    equal(chained.stdout, "hello /file", chained.stderr);
    await origin.close();
  });
});

Deno.test("an auther's file with reload: changes apply without a restart, the last good set survives", async () => {
  await withDir(async (dir) => {
    const origin = httpOrigin();
    const port = freePort();
    const users = `${dir}/users`;
    await Deno.writeTextFile(users, "alice a1\n");
    const cfg = {
      services: [{ name: "web", addr: `127.0.0.1:${port}`, handler: { type: "http", auther: "team" } }],
      authers: [{ name: "team", reload: "1s", file: { path: users } }],
    };
    await using gost = await startGost(["-C", JSON.stringify(cfg)]);
    const url = `http://127.0.0.1:${origin.port}/r`;
    const status = (user: string) => curlStatus("-x", `http://127.0.0.1:${port}`, "--proxy-user", user, url);
    equal(await status("alice:a1"), "200");
    equal(await status("bob:b1"), "407");

    const seen = (needle: string) => gost.lines.some((l) => l.includes(needle));
    await Deno.writeTextFile(users, "alice a2\nbob b1\ncarol\n");
    await until(() => seen(`reloaded ${users}: 2 user(s)`), "the reload log line", 10_000);
    ok(seen(`${users}:3: user "carol" has no password`) || seen(`${users}:3: user \\"carol\\" has no password`));
    equal(await status("bob:b1"), "200");
    equal(await status("alice:a2"), "200");
    equal(await status("alice:a1"), "407");
    equal(await status("carol:"), "407");

    await Deno.remove(users);
    await until(() => seen(`reload ${users}:`) && seen("keeping the last 2 user(s)"), "the unreadable warning", 10_000);
    equal(await status("bob:b1"), "200", "the last good set stays while the file is unreadable");
    await origin.close();
  });
});
