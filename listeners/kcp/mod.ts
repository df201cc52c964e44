/**
 * `kcp` transport: KCP over UDP as GOST's kcp (x/listener/kcp, x/dialer/kcp, x/internal/util/kcp), which follows
 * kcptun: kcp-go's datagrams (crypt header, FEC, KCP segments), the snappy stream unless `nocomp`, smux on top;
 * every client conn is one smux stream of the session the chain keeps to the node (`-L relay+kcp://:8443`,
 * `-F relay+kcp://host:8443`; `-L kcp://:8388/127.0.0.1:22` forwards like kcptun's server). It talks to kcptun's
 * `kcptun-client`/`kcptun-server` given the same key, crypt, FEC, `nocomp` and `smuxver` (docs/wire.md, "KCP").
 *
 * Settings, in order: defaults, the JSON file `kcp.configFile` (`configFile`, `c`), the map `kcp.config` (`config`),
 * then the single keys below; file and map take kcptun's JSON keys (other keys there are ignored, as GOST ignores
 * them).
 *
 * | key (single key) | default | meaning |
 * |---|---|---|
 * | key (`kcp.key`) | "" | pre-shared secret; the cipher key is pbkdf2(key, "kcp-go", 4096, 32, sha1) |
 * | crypt (`kcp.crypt`) | aes | aes, aes-128, aes-192, salsa20, xor, tea, xtea, none |
 * | mode (`kcp.mode`) | fast | normal, fast, fast2, fast3 (nodelay/interval/resend/nc profiles) or manual |
 * | mtu (`kcp.mtu`) | 1350 | largest datagram, 100–1500 |
 * | sndwnd / rcvwnd (`kcp.sndwnd`, `kcp.rcvwnd`) | 1024 / 1024 | windows, in segments |
 * | datashard / parityshard | 10 / 3 | Reed-Solomon FEC; 0 for either turns FEC off |
 * | nocomp (`kcp.nocomp`) | false | no snappy stream |
 * | acknodelay | false | acknowledge at once instead of on the next flush |
 * | nodelay, interval (`kcp.interval`), resend, nc | by mode | manual tuning (fast: 0, 30 ms, 2, 1) |
 * | sockbuf | 4194304 | base of smuxbuf (= sockbuf) and streambuf (= sockbuf / 2) |
 * | smuxver (`kcp.smuxver`) | 1 | smux version, 1 or 2 |
 * | smuxbuf (`kcp.smuxbuf`) | sockbuf | smux session receive buffer |
 * | streambuf (`kcp.streambuf`) | sockbuf / 2 | smux v2 stream window |
 * | keepalive (`kcp.keepalive`) | 10 | smux keep-alive interval, s (1–30: smux's timeout is 30 s) |
 * | snmpperiod | 60 | read; only meaningful with snmplog |
 * | backlog | 128 | listener: streams waiting for the handler |
 * | handshakeTimeout | 10s | dialer: bound on the node answering the first window probe and on opening a stream |
 *
 * Not implemented, so a ConfigError: `tcp` / `kcp.tcp` = true (tcpraw needs raw sockets), `dscp` above 0 (Deno sets
 * no TOS), `snmplog` set, the crypts sm4, blowfish, twofish, cast5 and 3des, and a crypt or mode name GOST does not
 * know (GOST falls back to aes / keeps the values). `sockbuf` is read (smux defaults) but cannot size the socket:
 * a warning says so, as GOST warns when setting it fails. `signal` is read by GOST and used nowhere; so here.
 *
 * Differences from GOST (listeners/kcp/config.ts): GOST's metadata parser overwrites key, crypt, mode, mtu, windows,
 * interval, keepalive, smux settings and nocomp of the file or map with the `kcp.*` key or its zero value; here a
 * single key overrides only when set. The default key is "" as GOST's code runs (its docs say "it's a secrect",
 * kcptun's default: pass `kcp.key` to talk to kcptun). Setting nodelay/interval/resend/nc with no mode anywhere
 * means manual. The dialer waits for the node to answer a window probe (GOST sends nothing before the first
 * stream). Deno cannot size a UDP socket's buffers (Linux: 208 KiB, some 90 datagrams), so the receive window
 * announced starts at 32 segments, halves after a flush interval with lost segments and grows back to `rcvwnd`, and
 * acks also go out as soon as 8 wait (kcp-go: at the next flush): a burst the socket cannot hold is never invited.
 * A session also ends when nothing valid arrived for 60 s or a segment went unacknowledged 20 times.
 * The node must be the first of its route (KCP over UDP from this host; GOST can send it through a chain's UDP).
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `kcp` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("kcp", async (opts) => new (await import("./listener.ts")).KcpListener(opts));
  reg.dialers.register("kcp", async (opts) => new (await import("./dialer.ts")).KcpDialer(opts));
}
