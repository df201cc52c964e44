/**
 * The client side of standard SOCKS5 UDP ASSOCIATE (RFC 1928 §7): after the server answers with its relay address,
 * datagrams `00 00 00 ADDR DATA` go to that address from a local UDP socket; the TCP control connection stays open
 * and its end ends the association.
 * @module
 */
import { lookup } from "node:dns/promises";
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { normalizeIP, parseIPv4, parseIPv6 } from "../../core/ip.ts";
import { decodeUdpHeader, encodeUdpHeader, type SocksAddr } from "./wire.ts";

/** Largest UDP payload, plus room for the longest SOCKS header (3 + 1 + 1 + 255 + 2). */
const MAX_DATAGRAM = 65_535;
const MAX_HEADER = 262;

const isUnspecified = (host: string) => normalizeIP(host) === "0.0.0.0" || normalizeIP(host) === "::";

/**
 * The relay address to send datagrams to: the reply's BND address, or the server's IP when BND is unspecified
 * (0.0.0.0 or ::); a host name is resolved.
 * @throws {DialError} naming `addr` when neither gives an IP
 */
export async function relayAddress(bnd: SocksAddr, ctl: Conn, addr: string): Promise<Deno.NetAddr> {
  let host = bnd.host;
  if (!host || isUnspecified(host)) {
    const remote = ctl.remoteAddr as Partial<Deno.NetAddr>;
    if (typeof remote.hostname !== "string") {
      throw new DialError(addr, `UDP ASSOCIATE for ${addr}: relay address ${bnd.host} and no server IP to use`);
    }
    host = remote.hostname;
  } else if (!parseIPv4(host) && !parseIPv6(host)) {
    try {
      host = (await lookup(host)).address;
    } catch (err) {
      throw new DialError(addr, `UDP ASSOCIATE for ${addr}: cannot resolve relay ${bnd.host}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }
  if (bnd.port === 0) throw new DialError(addr, `UDP ASSOCIATE for ${addr}: the server answered relay port 0`);
  return { transport: "udp", hostname: normalizeIP(host), port: bnd.port };
}

/**
 * A datagram conn to one target through a SOCKS5 UDP relay: `write` sends one payload with the target's header,
 * `read` returns one payload from the relay (datagrams from elsewhere, fragments and malformed headers are
 * dropped). `read` returns null once the control connection ends or the conn is closed; `close` closes the UDP
 * socket and the control connection.
 */
export class SocksUdpConn implements Conn {
  readonly datagram = true;
  readonly #ctl: Conn;
  readonly #sock: Deno.DatagramConn;
  readonly #relay: Deno.NetAddr;
  readonly #target: Deno.NetAddr;
  readonly #log: Logger;
  readonly #out: Uint8Array<ArrayBuffer>;
  readonly #headerLen: number;
  readonly #in = new Uint8Array(MAX_DATAGRAM + MAX_HEADER);
  #done = false;

  /**
   * @param ctl the control connection, past the ASSOCIATE reply
   * @param sock a local UDP socket of the relay's address family
   * @param relay where datagrams go, from {@link relayAddress}
   * @param target the fixed destination of every datagram
   */
  constructor(ctl: Conn, sock: Deno.DatagramConn, relay: Deno.NetAddr, target: SocksAddr, log: Logger) {
    this.#ctl = ctl;
    this.#sock = sock;
    this.#relay = relay;
    this.#target = { transport: "udp", hostname: target.host, port: target.port };
    this.#log = log;
    const header = encodeUdpHeader(target.host, target.port);
    this.#headerLen = header.length;
    this.#out = new Uint8Array(header.length + MAX_DATAGRAM);
    this.#out.set(header);
    this.#watch().catch(() => {});
  }

  get localAddr(): Deno.Addr {
    return this.#sock.addr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#target;
  }

  /** Ends the association when the control connection reaches EOF or fails. */
  async #watch(): Promise<void> {
    const buf = new Uint8Array(256);
    try {
      while (await this.#ctl.read(buf) !== null) {
        // RFC 1928: the control connection carries nothing more; it only keeps the association alive
      }
      if (!this.#done) {
        this.#log.debug(
          `udp association via ${joinHostPort(this.#relay.hostname, this.#relay.port)} ended by the server`,
        );
      }
    } catch {
      // reset, or closed by close()
    }
    this.close();
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#done) return null;
      let data: Uint8Array, from: Deno.NetAddr;
      try {
        const [d, a] = await this.#sock.receive(this.#in);
        [data, from] = [d, a as Deno.NetAddr];
      } catch (err) {
        if (this.#done) return null;
        throw err;
      }
      if (from.port !== this.#relay.port || normalizeIP(from.hostname) !== this.#relay.hostname) continue;
      let h: ReturnType<typeof decodeUdpHeader>;
      try {
        h = decodeUdpHeader(data);
      } catch (err) {
        this.#log.debug(`udp relay: dropped a datagram: ${errorMessage(err)}`);
        continue;
      }
      if (h.frag !== 0) continue;
      const n = Math.min(p.length, data.length - h.dataOffset);
      p.set(data.subarray(h.dataOffset, h.dataOffset + n));
      return n;
    }
  }

  /** Sends `p` as one datagram. @throws {RangeError} when it is longer than 65535 bytes */
  async write(p: Uint8Array): Promise<number> {
    if (p.length > MAX_DATAGRAM) throw new RangeError(`Datagram of ${p.length} bytes is longer than ${MAX_DATAGRAM}`);
    this.#out.set(p, this.#headerLen);
    await this.#sock.send(this.#out.subarray(0, this.#headerLen + p.length), this.#relay);
    return p.length;
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    if (this.#done) return;
    this.#done = true;
    closeQuietly(this.#sock);
    closeQuietly(this.#ctl);
  }
}

/**
 * Opens the local UDP socket for an association and wraps it. When the relay is the control connection's server
 * IP, the socket binds to the control connection's local IP (the server checks datagrams come from the client's
 * IP; loopback stays loopback); else to the relay family's wildcard.
 * @throws {DialError} naming `addr` when the socket cannot be bound (the control connection is closed)
 */
export function openAssociation(ctl: Conn, relay: Deno.NetAddr, target: SocksAddr, addr: string, log: Logger): Conn {
  const local = ctl.localAddr as Partial<Deno.NetAddr>;
  const remote = ctl.remoteAddr as Partial<Deno.NetAddr>;
  const sameHost = typeof remote.hostname === "string" && normalizeIP(remote.hostname) === relay.hostname;
  const hostname = sameHost && typeof local.hostname === "string"
    ? normalizeIP(local.hostname)
    : relay.hostname.includes(":")
    ? "::"
    : "0.0.0.0";
  let sock: Deno.DatagramConn;
  try {
    sock = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
  } catch (err) {
    closeQuietly(ctl);
    throw new DialError(
      addr,
      `UDP ASSOCIATE for ${addr}: cannot bind a UDP socket on ${hostname}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  return new SocksUdpConn(ctl, sock, relay, target, log);
}
