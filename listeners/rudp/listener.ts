/**
 * The `rudp` listener: remote UDP port forwarding over {@link RemoteListener}. The far end (SOCKS5 UDP-tun bind
 * mode, relay UDP BIND) relays datagrams on one tunnel stream; each peer becomes a datagram session that ends after
 * `ttl` without traffic.
 * @module
 */
import type { Metadata } from "../../core/metadata.ts";
import type { ListenerOptions } from "../../core/contracts.ts";
import { RemoteListener } from "../rtcp/listener.ts";
import { type BindOptions, UDP_BIND_DEFAULTS, type UdpBindOptions } from "./packet_listener.ts";

/** `rudp`: remote UDP port forwarding. */
export class RudpListener extends RemoteListener {
  #udp: UdpBindOptions = { ...UDP_BIND_DEFAULTS };

  constructor(opts: ListenerOptions) {
    super(opts, "udp");
  }

  /** @throws {ConfigError} naming the key on a bad value */
  override init(md: Metadata): Promise<void> {
    this.#udp = {
      ttlMs: md.duration("ttl", UDP_BIND_DEFAULTS.ttlMs),
      readBufferSize: md.int(
        ["readBufferSize", "udp.bufferSize", "udpBufferSize"],
        UDP_BIND_DEFAULTS.readBufferSize,
        512,
        65_535,
      ),
      readQueueSize: md.int("readQueueSize", UDP_BIND_DEFAULTS.readQueueSize, 1, 1_000_000),
      backlog: md.int("backlog", UDP_BIND_DEFAULTS.backlog, 1, 1_000_000),
    };
    return super.init(md);
  }

  protected override bindOptions(): BindOptions {
    return { udp: this.#udp };
  }
}
