/**
 * Third-party proxies for tests, started on 127.0.0.1 with configs written by the test: tinyproxy, microsocks.
 * @module
 */
import { freePort } from "./gost.ts";

/** A started peer process. */
export interface Peer {
  port: number;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function waitForPort(port: number, child: Deno.ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  throw new Error(`${name} did not listen on ${port} within 10 s`);
}

function peer(child: Deno.ChildProcess, port: number, cleanup?: () => Promise<void>): Peer {
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.output().catch(() => {});
      await cleanup?.();
    })();
  return { port, stop, [Symbol.asyncDispose]: stop };
}

/** Starts tinyproxy in the foreground on a free port (optionally with Basic auth). */
export async function startTinyproxy(auth?: { user: string; pass: string }): Promise<Peer> {
  const port = freePort();
  const dir = await Deno.makeTempDir();
  const conf = `${dir}/tinyproxy.conf`;
  await Deno.writeTextFile(
    conf,
    [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 60",
      "MaxClients 200",
      "Allow 127.0.0.1",
      "LogLevel Error",
      `PidFile "${dir}/tinyproxy.pid"`,
      ...(auth ? [`BasicAuth ${auth.user} ${auth.pass}`] : []),
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("tinyproxy", { args: ["-d", "-c", conf], stdout: "piped", stderr: "piped" }).spawn();
  await waitForPort(port, child, "tinyproxy");
  return peer(child, port, () => Deno.remove(dir, { recursive: true }));
}

/** Starts microsocks on a free port (optionally with user/password auth). */
export async function startMicrosocks(auth?: { user: string; pass: string }): Promise<Peer> {
  const port = freePort();
  const args = ["-i", "127.0.0.1", "-p", String(port), ...(auth ? ["-u", auth.user, "-P", auth.pass] : [])];
  const child = new Deno.Command("microsocks", { args, stdout: "piped", stderr: "piped" }).spawn();
  await waitForPort(port, child, "microsocks");
  return peer(child, port);
}

/** Starts dante (danted) on a free port: SOCKS5 CONNECT and UDP ASSOCIATE from loopback, no auth or `username`. */
export async function startDante(socksmethod: "none" | "username" = "none"): Promise<Peer> {
  const port = freePort();
  const dir = await Deno.makeTempDir();
  const conf = `${dir}/danted.conf`;
  await Deno.writeTextFile(
    conf,
    [
      "logoutput: stderr",
      `internal: 127.0.0.1 port = ${port}`,
      "external: 127.0.0.1",
      "clientmethod: none",
      `socksmethod: ${socksmethod}`,
      "user.privileged: root",
      "user.unprivileged: nobody",
      "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
      "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect udpassociate udpreply }",
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("danted", { args: ["-f", conf, "-N", "1"], stdout: "piped", stderr: "piped" })
    .spawn();
  await waitForPort(port, child, "danted");
  return peer(child, port, () => Deno.remove(dir, { recursive: true }));
}
