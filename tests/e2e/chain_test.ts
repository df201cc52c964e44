/**
 * Chains end to end with real clients and peers: our services chained to microsocks, tinyproxy and dante; a
 * 3-process chain of ours mixing http, socks5, relay and tls; ignoreChain exactly as GOST's example.
 */
import { equal, notEqual } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { startDante, startMicrosocks, startTinyproxy } from "../helpers/peers.ts";
import { eventually } from "../helpers/wait.ts";

Deno.test("our http and socks5 services reach the origin through microsocks, tinyproxy and dante", async (t) => {
  const origin = httpOrigin();
  await using micro = await startMicrosocks({ user: "m", pass: "mp" });
  await using tiny = await startTinyproxy();
  await using dante = await startDante();
  for (
    const [name, node] of [
      ["microsocks (socks5 with auth)", `socks5://m:mp@127.0.0.1:${micro.port}`],
      ["tinyproxy (http CONNECT)", `http://127.0.0.1:${tiny.port}`],
      ["dante (socks5)", `socks5://127.0.0.1:${dante.port}?notls=true`],
    ]
  ) {
    await t.step(name, async () => {
      const [http, socks] = [freePort(), freePort()];
      await using _gost = await startGost([
        "-L",
        `http://127.0.0.1:${http}`,
        "-L",
        `socks5://127.0.0.1:${socks}`,
        "-F",
        node,
      ], {
        listening: 2,
      });
      const viaHttp = await curl("-x", `http://127.0.0.1:${http}`, `http://127.0.0.1:${origin.port}/h`);
      equal(viaHttp.stdout, "hello /h", viaHttp.stderr);
      const viaSocks = await curl("--socks5-hostname", `127.0.0.1:${socks}`, `http://localhost:${origin.port}/s`);
      equal(viaSocks.stdout, "hello /s", viaSocks.stderr);
    });
  }
  await origin.close();
});

Deno.test("a 3-process chain of ours mixes http, socks5, relay and tls", async () => {
  const origin = httpOrigin();
  const [relayTls, socksTls, httpEntry] = [freePort(), freePort(), freePort()];
  await using _last = await startGost(["-L", `relay+tls://u:p@127.0.0.1:${relayTls}`]);
  await using _middle = await startGost(["-L", `socks5+tls://127.0.0.1:${socksTls}`]);
  await using _entry = await startGost([
    "-L",
    `http://127.0.0.1:${httpEntry}`,
    "-F",
    `socks5+tls://127.0.0.1:${socksTls}`,
    "-F",
    `relay+tls://u:p@127.0.0.1:${relayTls}`,
  ]);
  const r = await curl("-x", `http://127.0.0.1:${httpEntry}`, `http://127.0.0.1:${origin.port}/three`);
  equal(r.stdout, "hello /three", r.stderr);
  const tunnel = await curl("-p", "-x", `http://127.0.0.1:${httpEntry}`, `http://127.0.0.1:${origin.port}/tunnel`);
  equal(tunnel.stdout, "hello /tunnel", tunnel.stderr);
  await origin.close();
});

Deno.test("ignoreChain: -L http://…?ignoreChain=true -L socks5://… -F … chains only the socks5 service", async () => {
  const origin = httpOrigin();
  const [upstream, http, socks] = [freePort(), freePort(), freePort()];
  await using up = await startGost(["-L", `http://127.0.0.1:${upstream}`, "-D"]);
  await using _gost = await startGost([
    "-L",
    `http://127.0.0.1:${http}?ignoreChain=true`,
    "-L",
    `socks5://127.0.0.1:${socks}`,
    "-F",
    `http://127.0.0.1:${upstream}`,
  ], { listening: 2 });
  const before = up.lines.filter((l) => l.includes(" <> ")).length;
  equal(
    (await curl("-x", `http://127.0.0.1:${http}`, `http://127.0.0.1:${origin.port}/direct`)).stdout,
    "hello /direct",
  );
  equal(up.lines.filter((l) => l.includes(" <> ")).length, before, "the ignoreChain service must not use the chain");
  equal(
    (await curl("--socks5", `127.0.0.1:${socks}`, `http://127.0.0.1:${origin.port}/chained`)).stdout,
    "hello /chained",
  );
  await eventually(() => up.lines.filter((l) => l.includes(" <> ")).length !== before, 10_000);
  notEqual(up.lines.filter((l) => l.includes(" <> ")).length, before, "the socks5 service must use the chain");
  // the upstream logs its conns in order: a conn of the ignoreChain request would be in before this one
  equal(up.lines.filter((l) => l.includes(" <> ")).length, before + 1, "only the socks5 request used the chain");
  await origin.close();
});
