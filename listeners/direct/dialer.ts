/**
 * The `direct` dialer: `dial` opens no connection and returns a placeholder conn (reads end at once, writes fail),
 * as GOST's direct dialer returns a no-op conn; the node's connector dials the target itself.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { Dialer } from "../../core/contracts.ts";

/** The placeholder's addresses: none. */
const NO_ADDR: Deno.NetAddr = { transport: "tcp", hostname: "0.0.0.0", port: 0 };

/** A conn to nowhere: EOF on read, an error on write. */
class NopConn implements Conn {
  readonly localAddr: Deno.Addr = NO_ADDR;
  readonly remoteAddr: Deno.Addr = NO_ADDR;
  read(_p: Uint8Array): Promise<number | null> {
    return Promise.resolve(null);
  }
  write(_p: Uint8Array): Promise<number> {
    return Promise.reject(new Error("direct dialer: the placeholder conn carries no data"));
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

/** Opens nothing. */
export class DirectDialer implements Dialer {
  init(_md: Metadata): Promise<void> {
    return Promise.resolve();
  }

  /** A placeholder conn; `addr` is ignored (a direct node may have none). */
  dial(_addr: string): Promise<Conn> {
    return Promise.resolve(new NopConn());
  }
}
