/** The rtcp listener tells "no chain to bind through" (bind locally) from a failed bind by the error's class. */
import { equal, ok, rejects } from "node:assert/strict";
import { DialError, NoChainError } from "../../core/errors.ts";
import type { Router } from "../../core/contracts.ts";
import { nopLogger } from "../../core/log.ts";
import { Metadata } from "../../core/metadata.ts";
import { RtcpListener } from "../../listeners/rtcp/listener.ts";

/** A router whose `bind` always fails with `err`, counting the calls. */
function failingRouter(err: Error): Router & { binds: number } {
  return {
    binds: 0,
    dial: () => Promise.reject(new Error("no dials in this test")),
    bind(): Promise<never> {
      this.binds++;
      return Promise.reject(err);
    },
  };
}

Deno.test("rtcp without a chain (NoChainError) listens locally and accepts there", async () => {
  const router = failingRouter(new NoChainError("127.0.0.1:0", "bind tcp 127.0.0.1:0: no chain to bind through"));
  const ln = new RtcpListener({ addr: "127.0.0.1:0", logger: nopLogger, service: "s", router });
  await ln.init(new Metadata({}));
  try {
    equal(router.binds, 1);
    const port = (ln.addr as Deno.NetAddr).port;
    ok(port > 0, `bound locally on port ${port}`);
    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    const conn = await ln.accept();
    await client.write(new Uint8Array([7]));
    const buf = new Uint8Array(1);
    equal(await conn.read(buf), 1);
    equal(buf[0], 7);
    conn.close();
    client.close();
  } finally {
    ln.close();
  }
});

Deno.test("rtcp: a failed chain bind is not taken for a missing chain, whatever its message", async () => {
  const failure = new DialError("127.0.0.1:0", "bind tcp 127.0.0.1:0: no chain to bind through");
  const ln = new RtcpListener({ addr: "127.0.0.1:0", logger: nopLogger, service: "s", router: failingRouter(failure) });
  await ln.init(new Metadata({}));
  try {
    equal((ln.addr as Deno.NetAddr).port, 0, "not bound locally");
    await rejects(ln.accept(), (err: unknown) => err instanceof Deno.errors.ConnectionRefused && err.cause === failure);
  } finally {
    ln.close();
  }
});
