/**
 * GOST's idle bound on a tunnel of the `http2` handler (`readTimeout`): each read waits at most that long, and a
 * direction that stays silent past it ends the relay, as a read deadline set before every read does in GOST.
 * @module
 */
import { closeQuietly, type Conn, ConnWrapper } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";
import { TimeoutError } from "../../core/errors.ts";

/** A conn whose every read is bounded by `ms`; past it the conn is closed and the read fails. */
export class IdleBoundConn extends ConnWrapper {
  readonly #ms: number;

  constructor(inner: Conn, ms: number) {
    super(inner);
    this.#ms = ms;
  }

  override async read(p: Uint8Array): Promise<number | null> {
    let idle = false;
    const cancel = after(this.#ms, () => {
      idle = true;
      closeQuietly(this.inner);
    });
    try {
      return await this.inner.read(p);
    } catch (err) {
      if (idle) throw new TimeoutError(`Idle for ${this.#ms} ms`, { cause: err });
      throw err;
    } finally {
      cancel();
    }
  }
}
