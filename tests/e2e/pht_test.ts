/**
 * GOST's pht/phts transports end to end, as real processes: curl through an entry `-L http://:A -F http+pht://:B`
 * to a node `-L http+pht://:B` (and phts, and the default-handler form); a client that authorizes and pushes but
 * never pulls is dropped after `pullTimeout` with a log line while other sessions go on; garbage and bad tokens get
 * GOST's statuses (docs/wire.md, "PHT").
 */
import { equal, match, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";

for (const [scheme, node] of [["http+pht", "http+pht"], ["http+phts", "http+phts"], ["pht", "pht"], ["phts", "phts"]]) {
  Deno.test(`${scheme}: curl through -F ${scheme}:// to -L ${node}:// (small and 3 MB responses, a POST)`, async () => {
    const origin = httpOrigin();
    const [b, a] = [freePort(), freePort()];
    await using _node = await startGost(["-L", `${node}://127.0.0.1:${b}`]);
    await using _entry = await startGost(["-L", `http://127.0.0.1:${a}`, "-F", `${scheme}://127.0.0.1:${b}`]);
    try {
      const r = await curl("-x", `http://127.0.0.1:${a}`, `http://127.0.0.1:${origin.port}/hello`);
      equal(r.stdout, "hello /hello", r.stderr);
      const big = await curl("-x", `http://127.0.0.1:${a}`, `http://127.0.0.1:${origin.port}/bytes/3000000`);
      equal(big.stdout.length, 3_000_000, big.stderr);
      ok(/^a+$/.test(big.stdout));
      const body = "x".repeat(200_000);
      const file = await Deno.makeTempFile();
      try {
        await Deno.writeTextFile(file, body);
        const post = await curl(
          "-x",
          `http://127.0.0.1:${a}`,
          "--data-binary",
          `@${file}`,
          `http://127.0.0.1:${origin.port}/`,
        );
        equal(post.stdout, body, post.stderr);
      } finally {
        await Deno.remove(file);
      }
    } finally {
      await origin.close();
    }
  });
}

Deno.test("pht: a client that never pulls is dropped after pullTimeout with a log line; others go on; bad input gets GOST's statuses", async () => {
  const origin = httpOrigin();
  const [b, a] = [freePort(), freePort()];
  await using node = await startGost(["-L", `http+pht://127.0.0.1:${b}?pullTimeout=1s`]);
  await using _entry = await startGost(["-L", `http://127.0.0.1:${a}`, "-F", `http+pht://127.0.0.1:${b}`]);
  try {
    const base = `http://127.0.0.1:${b}`;
    const auth = await fetch(`${base}/authorize`);
    equal(auth.status, 200);
    const token = (await auth.text()).replace(/^token=/, "");
    match(token, /^[0-9a-v]{20}$/);
    // a CONNECT and a request through it, then never a pull: the reply stays in the session's buffer
    const req = `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n` +
      `GET /bytes/3000000 HTTP/1.1\r\nHost: x\r\n\r\n`;
    const push = await fetch(`${base}/push?token=${token}`, {
      method: "POST",
      body: new TextEncoder().encode(req).toBase64() + "\n",
    });
    equal(push.status, 200);
    await push.body?.cancel();
    // another client goes on meanwhile
    const r = await curl("-x", `http://127.0.0.1:${a}`, `http://127.0.0.1:${origin.port}/meanwhile`);
    equal(r.stdout, "hello /meanwhile", r.stderr);
    await until(() => node.lines.some((l) => l.includes(`session ${token} not pulled`)), "the drop log line", 10_000);
    // its token is over: GOST's status for an unknown token
    const late = await fetch(`${base}/pull?token=${token}`);
    equal(late.status, 403);
    await late.body?.cancel();
    const bad = await fetch(`${base}/push?token=`, { method: "POST", body: "aGk=\n" });
    equal(bad.status, 403);
    await bad.body?.cancel();
    // garbage: a 400 and a log line
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: b });
    await conn.write(new TextEncoder().encode("\x16\x03\x01 garbage garbage\r\n\r\n"));
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    conn.close();
    match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 400 /);
    await until(() => node.lines.some((l) => l.includes("pht: bad request")), "the garbage log line", 5_000);
    // a push body that is not base64 closes its session with a log line
    const t2 = (await (await fetch(`${base}/authorize`)).text()).replace(/^token=/, "");
    const nb = await fetch(`${base}/push?token=${t2}`, { method: "POST", body: "!!not base64!!\n" });
    equal(nb.status, 400);
    await nb.body?.cancel();
    await until(
      () => node.lines.some((l) => l.includes(`session ${t2} is not base64`)),
      "the bad-body log line",
      5_000,
    );
    const after = await curl("-x", `http://127.0.0.1:${a}`, `http://127.0.0.1:${origin.port}/after`);
    equal(after.stdout, "hello /after", after.stderr);
  } finally {
    await origin.close();
  }
});

Deno.test("pht listener and a client as GOST v3's is today: no authorize, its own token, one push per write, a streaming pull, the empty push at the end", async () => {
  const origin = httpOrigin();
  const b = freePort();
  await using _node = await startGost(["-L", `http+pht://127.0.0.1:${b}`]);
  try {
    const base = `http://127.0.0.1:${b}`;
    const token = "cq1bbe4e5k8ja5pbtnm0"; // an xid, as GOST's client makes
    const pull = await fetch(`${base}/pull?token=${token}`);
    equal(pull.status, 200);
    equal(pull.headers.get("x-accel-buffering"), "no");
    const enc = new TextEncoder();
    const push = async (text: string) => {
      const r = await fetch(`${base}/push?token=${token}`, {
        method: "POST",
        body: text ? enc.encode(text).toBase64() + "\n" : "",
      });
      equal(r.status, 200);
      await r.body?.cancel();
    };
    await push(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    await push(`GET /gost HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    // every line of the streamed body is base64 of some bytes (or a bare heartbeat)
    const reader = pull.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "", got = "";
    const dec = new TextDecoder();
    for (let i = 0; i < 1000 && !got.includes("hello /gost"); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      let nl;
      while ((nl = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (line) got += dec.decode(Uint8Array.fromBase64(line));
      }
    }
    match(got, /^HTTP\/1\.1 200 Connection established\r\n/);
    match(got, /hello \/gost$/);
    await push(""); // the client's end: the session closes and its pull ends
    for (let i = 0; i < 1000; i++) {
      const { done } = await reader.read();
      if (done) break;
    }
    const late = await fetch(`${base}/push?token=${token}`, { method: "POST", body: "aGk=\n" });
    equal(late.status, 403, "the ended token is refused");
    await late.body?.cancel();
  } finally {
    await origin.close();
  }
});
