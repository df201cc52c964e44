/**
 * The `direct` connector: ignores the conn its dialer handed over (the `direct` dialer's placeholder) and dials the
 * requested address from this host through the router's direct dial (`DialOptions.direct`, with the router's
 * checks), as GOST's direct connector dials with the net dialer of its connect options. With `action: reject` it
 * refuses every target instead.
 * @module
 */
import { closeQuietly, type Conn, type Network } from "../../core/conn.ts";
import { ConfigError, DialError, errorMessage, PolicyError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { Connector, DialOptions } from "../../core/contracts.ts";

/** The `action` values: none (dial the target) or GOST's `reject`. */
const ACTIONS = ["", "reject"];

/** Dials the target itself, or refuses it (`action: reject`). */
export class DirectConnector implements Connector {
  #reject = false;

  /** @throws {ConfigError} on an `action` other than `reject` */
  init(md: Metadata): Promise<void> {
    const action = md.string("action").toLowerCase();
    if (!ACTIONS.includes(action)) {
      return Promise.reject(
        new ConfigError(`Unknown direct connector action: "action" = "${action}": supported is reject (or none)`),
      );
    }
    this.#reject = action === "reject";
    return Promise.resolve();
  }

  /**
   * Dials `addr` from this host; the conn it is given is closed.
   * @throws {PolicyError} with `action: reject`, or when the router's rules refuse `addr`
   * @throws {DialError} naming `addr` when it cannot be reached, or when no router dial is given
   */
  async connect(conn: Conn, network: Network, addr: string, opts: DialOptions = {}): Promise<Conn> {
    closeQuietly(conn);
    if (this.#reject) throw new PolicyError(`${addr} is rejected by a direct node (action: reject)`);
    if (!opts.direct) throw new DialError(addr, "direct: no router dial in the connect options");
    try {
      return await opts.direct(network, addr, opts.signal);
    } catch (err) {
      // the rules' refusals and a missing target keep their kind; anything else is this target's, not the node's
      if (err instanceof PolicyError || err instanceof DialError) throw err;
      throw new DialError(addr, `dial ${network} ${addr}: ${errorMessage(err)}`, { cause: err });
    }
  }
}
