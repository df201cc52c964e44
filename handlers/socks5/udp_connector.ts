/**
 * The client side of standard SOCKS5 UDP ASSOCIATE (RFC 1928 §7): after the server answers with its relay address,
 * datagrams `00 00 00 ADDR DATA` go to that address from a local UDP socket, each naming its own target (one
 * association carries any number of them); the TCP control connection stays open and its end ends the association.
 * @module
 */
import { systemLookup } from "../../core/routing/system_lookup.ts";
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { normalizeIP, parseIPv4, parseIPv6 } from "../../core/ip.ts";
import type { Packet, PacketAddr, PacketConn } from "../../core/contracts.ts";
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
      const found = (await systemLookup(host))?.[0];
      if (!found) throw new Error("this process may not resolve names (Deno's --allow-net lists names only)");
      host = found;
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
 * One association through a SOCKS5 UDP relay, for any number of targets: `writeTo` sends one payload with its
 * destination's header, `readFrom` returns one payload from the relay with the source its header names (datagrams
 * from elsewhere, fragments and malformed headers are dropped). `readFrom` returns null once the control connection
 * ends or the association is closed; `close` closes the UDP socket and the control connection.
 */
export class SocksUdpPacketConn implements PacketConn {
  readonly #ctl: Conn;
  readonly #sock: Deno.DatagramConn;
  readonly #relay: Deno.NetAddr;
  readonly #log: Logger;
  readonly #out = new Uint8Array(MAX_HEADER + MAX_DATAGRAM);
  readonly #in = new Uint8Array(MAX_DATAGRAM + MAX_HEADER);
  #done = false;

  /**
   * @param ctl the control connection, past the ASSOCIATE reply
   * @param sock a local UDP socket of the relay's address family
   * @param relay where datagrams go, from {@link relayAddress}
   */
  constructor(ctl: Conn, sock: Deno.DatagramConn, relay: Deno.NetAddr, log: Logger) {
    this.#ctl = ctl;
    this.#sock = sock;
    this.#relay = relay;
    this.#log = log;
    this.#watch().catch(() => {});
  }

  get localAddr(): Deno.Addr {
    return this.#sock.addr;
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

  async readFrom(): Promise<Packet | null> {
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
      return { data: data.subarray(h.dataOffset), addr: h.addr };
    }
  }

  /** Sends `data` to `to` as one datagram. @throws {RangeError} when it is longer than 65535 bytes */
  async writeTo(data: Uint8Array, to: PacketAddr): Promise<number> {
    if (data.length > MAX_DATAGRAM) {
      throw new RangeError(`Datagram of ${data.length} bytes is longer than ${MAX_DATAGRAM}`);
    }
    const header = encodeUdpHeader(to.host, to.port);
    this.#out.set(header);
    this.#out.set(data, header.length);
    await this.#sock.send(this.#out.subarray(0, header.length + data.length), this.#relay);
    return data.length;
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
 * @param what names the request in errors (the target, or `udp association`)
 * @throws {DialError} naming `what` when the socket cannot be bound (the control connection is closed)
 */
export function openAssociation(ctl: Conn, relay: Deno.NetAddr, what: string, log: Logger): SocksUdpPacketConn {
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
      what,
      `UDP ASSOCIATE for ${what}: cannot bind a UDP socket on ${hostname}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return new SocksUdpPacketConn(ctl, sock, relay, log);
}
