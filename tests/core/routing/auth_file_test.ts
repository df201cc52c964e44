/**
 * GOST's auth forms below the handlers: the auth file format, the reloading auther, `skipauth`, the `?auth=`
 * precedence of -L/-F URLs and `connector.auth.file`.
 */
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { firstAuthEntry, MAX_AUTH_FILE_BYTES, parseAuthFile } from "../../../core/routing/auth_file.ts";
import { readAuthFile } from "../../../core/routing/auth.ts";
import { FileAuthenticator, MIN_RELOAD_MS } from "../../../core/routing/auth_reload.ts";
import { buildAuther } from "../../../core/routing/auther.ts";
import { parseSkipAuth, SkipAuthHandler } from "../../../core/routing/skip_auth.ts";
import { Metadata } from "../../../core/metadata.ts";
import { Logger, MemorySink, nopLogger } from "../../../core/log.ts";
import { buildConfigFromCmd } from "../../../core/config/from_cli.ts";
import { buildService } from "../../../core/config/build.ts";
import { buildChain } from "../../../core/config/build_chain.ts";
import { ConfigError } from "../../../core/errors.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../../core/contracts.ts";
import type { Conn } from "../../../core/conn.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import { until } from "../../helpers/wait.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gost-auth-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A logger whose messages (the `msg` of each JSON line) are kept in `sink.lines`. */
function memLogger(): { logger: Logger; sink: { readonly lines: string[] } } {
  const mem = new MemorySink();
  const sink = {
    get lines() {
      return mem.lines.map((l) => String(JSON.parse(l).msg));
    },
  };
  return { logger: new Logger(mem, "info"), sink };
}

Deno.test("the auth file format is GOST's: split at the first blank, the rest of the line is the password", () => {
  // GOST's documented example (docs concepts/auth): "#123456" is a password, not a comment
  const text = "# username password\n\nadmin           #123456\ntest\\user001    123456\r\n" +
    "\tcarol\tpass with  spaces \n  # indented comment\ntest.user@002   12345678\n";
  const { entries, problems } = parseAuthFile(text, true);
  deepEqual(entries, [
    { username: "admin", password: "#123456", line: 3 },
    { username: "test\\user001", password: "123456", line: 4 },
    { username: "carol", password: "pass with  spaces", line: 5 },
    { username: "test.user@002", password: "12345678", line: 7 },
  ]);
  deepEqual(problems, []);
});

Deno.test("bad lines are problems naming the line; the good lines stay", () => {
  const { entries, problems } = parseAuthFile("alice a1\nbob\nmal\x01ory x\nalice a2\n", true);
  deepEqual(entries.map((e) => [e.username, e.password, e.line]), [["alice", "a2", 4]]);
  deepEqual(problems.map((p) => p.line), [2, 3, 1]);
  match(problems[0].message, /"bob" has no password: it can never log in/);
  match(problems[1].message, /control character/);
  match(problems[2].message, /"alice" is given again at line 4, which wins/);
  // a connector sends what the file says, an empty password included
  deepEqual(parseAuthFile("bob\n", false).entries, [{ username: "bob", password: "", line: 1 }]);
});

Deno.test("readAuthFile warns naming file and line; too big, missing or a directory is an error", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/users`;
    await Deno.writeTextFile(path, "alice s3cret\nbob\n");
    const warnings: string[] = [];
    deepEqual(readAuthFile(path, (m) => warnings.push(m)), [{ username: "alice", password: "s3cret" }]);
    deepEqual(warnings, [`auth file ${path}:2: user "bob" has no password: it can never log in`]);
    await Deno.writeTextFile(path, "x".repeat(MAX_AUTH_FILE_BYTES + 1));
    throws(() => readAuthFile(path), /more than the 1048576 an auth file may have/);
    throws(() => readAuthFile(dir), /is not a regular file/);
    throws(() => readAuthFile(`${dir}/none`), /No such file|not found/i);
  });
});

Deno.test("connector auth.file sends the file's first user", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/upstream`;
    await Deno.writeTextFile(path, "# upstream\nu1 p 1\nu2 p2\n");
    deepEqual(firstAuthEntry(path), { username: "u1", password: "p 1" });
    await Deno.writeTextFile(path, "# nothing\n");
    throws(() => firstAuthEntry(path), /holds no "user password" line/);

    const reg = createBuiltinRegistries();
    const fail = (p: (string | number)[], m: string) => new ConfigError(`${p.join(".")}: ${m}`);
    const ctx = { reg, logger: nopLogger, hops: () => undefined, fail, bypass: () => undefined };
    const node = (file: string) => ({
      name: "c",
      hops: [{ name: "h", nodes: [{ name: "n", addr: "127.0.0.1:1", connector: { type: "http", auth: { file } } }] }],
    });
    await rejects(
      () => buildChain(node(`${dir}/missing`) as never, ["chains", "c"], ctx as never),
      /chains\.c\.hops\.0\.nodes\.0\.connector\.auth\.file: cannot read auth file/,
    );
    await Deno.writeTextFile(path, "u1 p1\n");
    const chain = await buildChain(node(path) as never, ["chains", "c"], ctx as never);
    chain.close();
  });
});

Deno.test("a reloading auther picks up changes, warns on bad lines and keeps the last good set", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/users`;
    await Deno.writeTextFile(path, "alice a1\n");
    const { logger, sink } = memLogger();
    const a = FileAuthenticator.open({
      owner: "auther a",
      path,
      inline: [{ username: "inline", password: "i1" }, { username: "alice", password: "old" }],
      logger,
    });
    try {
      equal(a.authenticate("alice", "a1"), "alice", "the file wins over an inline user of the same name");
      equal(a.authenticate("alice", "old"), null);
      equal(a.authenticate("inline", "i1"), "inline");
      equal(await a.reload(), false, "unchanged: nothing to do");

      await Deno.writeTextFile(path, "alice a2\nbob\ncarol c1\n");
      equal(await a.reload(), true);
      equal(a.authenticate("alice", "a1"), null);
      equal(a.authenticate("alice", "a2"), "alice");
      equal(a.authenticate("carol", "c1"), "carol");
      equal(a.authenticate("bob", ""), null, "an empty password never accepts");
      equal(a.authenticate("bob", "anything"), null);
      ok(
        sink.lines.some((l) => l.includes(`auther a: auth file ${path}:2: user "bob" has no password`)),
        sink.lines.join("\n"),
      );
      ok(sink.lines.some((l) => l.includes(`auther a: reloaded ${path}: 3 user(s)`)), sink.lines.join("\n"));

      await Deno.remove(path);
      equal(await a.reload(), false);
      equal(await a.reload(), false);
      equal(a.authenticate("carol", "c1"), "carol", "the last good set stays");
      const unreadable = sink.lines.filter((l) => l.includes(`auther a: reload ${path}:`));
      equal(unreadable.length, 1, "warned once, not at every period");
      match(unreadable[0], /keeping the last 3 user\(s\)/);

      await Deno.writeTextFile(path, "dave d1\n");
      equal(await a.reload(), true, "readable again: applied");
      equal(a.authenticate("dave", "d1"), "dave");
      equal(a.authenticate("carol", "c1"), null);
    } finally {
      a.close();
    }
  });
});

Deno.test("the reload period re-reads the file by itself (at least 1 s, as GOST)", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/users`;
    await Deno.writeTextFile(path, "alice a1\n");
    const a = FileAuthenticator.open({ owner: "auther a", path, reloadMs: 10, logger: nopLogger });
    try {
      equal(a.periodMs, MIN_RELOAD_MS);
      await Deno.writeTextFile(path, "alice a2\n");
      await until(() => a.authenticate("alice", "a2") === "alice", "the periodic reload", 5_000);
      equal(a.authenticate("alice", "a1"), null);
    } finally {
      a.close();
    }
  });
});

Deno.test("authers: file + reload build a reloading auther; other sources and bad values are refused", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/users`;
    await Deno.writeTextFile(path, "alice a1\n");
    const a = buildAuther({ name: "a", file: { path }, reload: "2s" }, nopLogger) as FileAuthenticator;
    ok(a instanceof FileAuthenticator);
    equal(a.periodMs, 2000);
    a.close();
    const inline = buildAuther({ name: "b", auths: [{ username: "u", password: "p" }] }, nopLogger);
    equal(inline.authenticate("u", "p"), "u");
    for (const key of ["redis", "http", "plugin"]) {
      throws(
        () => buildAuther({ name: "a", [key]: { addr: "127.0.0.1:6379" } }, nopLogger),
        new RegExp(`authers\\.a\\.${key}: the ${key} source of authers is not supported by gost.ts yet`),
      );
    }
    throws(
      () => buildAuther({ name: "a", file: { path }, reload: "10x" }, nopLogger),
      /authers\.a\.reload: Cannot parse/,
    );
    throws(
      () => buildAuther({ name: "a", file: { path: `${dir}/none` } }, nopLogger),
      /authers\.a\.file\.path: cannot read/,
    );
  });
});

Deno.test("skipauth takes IPs and CIDRs (list or CSV), IPv4-mapped clients too; anything else is an error", () => {
  const csv = parseSkipAuth(new Metadata({ skipauth: "10.0.0.0/8, 192.168.1.1" }))!;
  equal(csv("10.1.2.3:4000"), true);
  equal(csv("[::ffff:10.1.2.3]:4000"), true);
  equal(csv("192.168.1.1:1"), true);
  equal(csv("192.168.1.2:1"), false);
  equal(csv(""), false);
  equal(csv("/run/gost.sock"), false);
  const list = parseSkipAuth(new Metadata({ skipAuth: ["2001:db8::/32"] }))!;
  equal(list("[2001:db8::5]:80"), true);
  equal(list("127.0.0.1:80"), false);
  equal(parseSkipAuth(new Metadata({})), undefined);
  throws(() => parseSkipAuth(new Metadata({ skipauth: "10.0.0.0/8,lan.example" })), /"lan\.example" is not an IP/);
  throws(() => parseSkipAuth(new Metadata({ skipauth: "10.0.0.1:80" })), /"10\.0\.0\.1:80" is not an IP/);
});

Deno.test("a service with skipauth hands listed clients to a twin without the authenticator", async () => {
  const reg = createBuiltinRegistries();
  const seen: HandlerOptions[] = [];
  const served: string[] = [];
  reg.handlers.register("rec", (opts: HandlerOptions): Handler => {
    seen.push(opts);
    return {
      init: () => Promise.resolve(),
      handle: (conn: Conn) => {
        served.push(opts.auth ? "authed" : "open");
        return Promise.resolve(conn.close());
      },
    };
  });
  const { logger, sink } = memLogger();
  const handler = { type: "rec", auth: { username: "u", password: "p" }, metadata: { skipauth: "127.0.0.2" } };
  const svc = await buildService({ name: "s", addr: "127.0.0.1:0", handler }, 0, { reg, logger });
  const port = (svc.listener.addr as Deno.NetAddr).port;
  svc.serve();
  try {
    equal(seen.length, 2);
    ok(seen[0].auth && !seen[1].auth);
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.read(new Uint8Array(1)).catch(() => null);
    c.close();
    await until(() => served.length >= 1, "a conn served");
  } finally {
    await svc.close();
  }
  deepEqual(served, ["authed"], "127.0.0.1 is not listed (the e2e test connects from a listed address)");
  await rejects(
    () =>
      buildService({ name: "s", addr: "127.0.0.1:0", handler: { ...handler, metadata: { skipauth: "x" } } }, 0, {
        reg,
        logger,
      }),
    /services\[0\]\.handler\.metadata\.skipauth: skipauth: "x" is not an IP/,
  );
  const open = await buildService(
    { name: "o", addr: "127.0.0.1:0", handler: { type: "rec", metadata: { skipauth: "10.0.0.0/8" } } },
    0,
    { reg, logger },
  );
  await open.close();
  ok(sink.lines.some((l) => l.includes("service o: skipauth is set but the service has no authentication")));
});

Deno.test("SkipAuthHandler dispatches by the client address and closes both twins", async () => {
  const log: string[] = [];
  const twin = (name: string): Handler => ({
    init: () => Promise.resolve(void log.push(`${name} init`)),
    handle: () => Promise.resolve(void log.push(`${name} handle`)),
    close: () => void log.push(`${name} close`),
  });
  const h = new SkipAuthHandler(twin("authed"), twin("open"), (src) => src.startsWith("10."));
  await h.init(new Metadata({}));
  const ctx = (src: string) => ({ src, logger: nopLogger }) as unknown as ConnContext;
  await h.handle({} as Conn, ctx("10.0.0.1:5"));
  await h.handle({} as Conn, ctx("192.0.2.1:5"));
  h.close();
  deepEqual(log, ["authed init", "open init", "open handle", "authed handle", "authed close", "open close"]);
});

Deno.test("?auth=BASE64 is the fallback of user:pass@ on -L and -F (GOST's code)", () => {
  const reg = createBuiltinRegistries();
  const known = { handlers: new Set(reg.handlers.names()), listeners: new Set(reg.listeners.names()), info: reg };
  const enc = btoa("q:p@ss w0rd");
  // with user info in the URL, it wins and ?auth= is dropped (not even decoded: a bad value is no error)
  const both = buildConfigFromCmd([`http://u:p@:8080?auth=${enc}`], [`socks5://u:p@h:1080?auth=%%%`], known);
  deepEqual(both.services![0].handler!.auth, { username: "u", password: "p" });
  equal(both.services![0].handler!.metadata?.auth, undefined, "auth is not left in the metadata");
  deepEqual(both.chains![0].hops![0].nodes![0].connector!.auth, { username: "u", password: "p" });
  equal(both.chains![0].hops![0].metadata?.auth, undefined, "auth is not left in the hop metadata");
  // without user info, ?auth= gives the credentials (standard or URL-safe base64, padded or not)
  const urlSafe = btoa("q:a?b>").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const only = buildConfigFromCmd([`http://:8080?auth=${enc}`], [`socks5://h:1080?auth=${urlSafe}`], known);
  deepEqual(only.services![0].handler!.auth, { username: "q", password: "p@ss w0rd" });
  deepEqual(only.chains![0].hops![0].nodes![0].connector!.auth, { username: "q", password: "a?b>" });
  throws(() => buildConfigFromCmd([`http://:8080?auth=%%%`], [], known), /Cannot decode "auth" as base64/);
});
