/**
 * GOST v3's metadata keys, per component, as GOST's code reads them (go-gost/x: each handler's, listener's,
 * connector's and dialer's metadata parser, and the service, node and hop parsers of its config loader), for the
 * gost.ts types that have a GOST counterpart. A key listed here that a config sets and no gost.ts component reads is
 * refused when the service or chain is built (core/config/unread_keys.ts; README.md, "Refused settings"): GOST would
 * act on it, so ignoring it would change what the user asked for without a word.
 * @module
 */

/** How GOST reads a key's value (its `mdutil.Get*` function). */
export type GostKeyKind = "bool" | "int" | "float" | "duration" | "string" | "strings" | "map";

/** One key as GOST reads it: its spellings (the first is the preferred one) and the kind of its value. */
export type GostKeyGroup = readonly [readonly string[], GostKeyKind];

/** GOST's sniffing keys, read by several components. */
const SNIFFING: readonly GostKeyGroup[] = [
  [["sniffing"], "bool"],
  [["sniffing.timeout"], "duration"],
  [["sniffing.websocket"], "bool"],
  [["sniffing.websocket.sampleRate"], "float"],
];

/** GOST's mitm keys, read by several components. */
const MITM: readonly GostKeyGroup[] = [
  [["mitm.certFile", "mitm.caCertFile"], "string"],
  [["mitm.keyFile", "mitm.caKeyFile"], "string"],
  [["mitm.alpn"], "string"],
  [["mitm.bypass"], "string"],
];

/** GOST's mux keys, read by several components. */
const MUX: readonly GostKeyGroup[] = [
  [["mux.version"], "int"],
  [["mux.keepaliveInterval"], "duration"],
  [["mux.keepaliveDisabled"], "bool"],
  [["mux.keepaliveTimeout"], "duration"],
  [["mux.maxFrameSize"], "int"],
  [["mux.maxReceiveBuffer"], "int"],
  [["mux.maxStreamBuffer"], "int"],
  [["mux.type"], "string"],
  [["mux.maxStreamWindow"], "int"],
];

/** GOST's observer keys, read by several components. */
const OBSERVER: readonly GostKeyGroup[] = [
  [["observePeriod", "observer.period", "observer.observePeriod"], "duration"],
  [["observer.resetTraffic"], "bool"],
];

/** GOST's limiter keys, read by several components. */
const LIMITER: readonly GostKeyGroup[] = [
  [["limiter.refreshInterval"], "duration"],
  [["limiter.cleanupInterval"], "duration"],
];

/** GOST's tcp keepalive keys, read by several components. */
const TCP_KEEPALIVE: readonly GostKeyGroup[] = [
  [["keepalive"], "bool"],
  [["keepalive.idle"], "duration"],
  [["keepalive.interval"], "duration"],
  [["keepalive.count"], "int"],
];

/** GOST's ws/wss listener keys (x/listener/ws). */
const WS_LISTENER: readonly GostKeyGroup[] = [
  [["ws.path", "path"], "string"],
  [["ws.handshakeTimeout", "handshakeTimeout"], "duration"],
  [["ws.readHeaderTimeout", "readHeaderTimeout"], "duration"],
  [["ws.readBufferSize", "readBufferSize"], "int"],
  [["ws.writeBufferSize", "writeBufferSize"], "int"],
  [["ws.enableCompression", "enableCompression"], "bool"],
  [["ws.header", "header"], "map"],
  [["ws.backlog", "backlog"], "int"],
  [["mptcp"], "bool"],
  ...TCP_KEEPALIVE,
];

/** GOST's ws/wss dialer keys (x/dialer/ws). */
const WS_DIALER: readonly GostKeyGroup[] = [
  [["ws.host", "host"], "string"],
  [["ws.path", "path"], "string"],
  [["ws.handshakeTimeout", "handshakeTimeout"], "duration"],
  [["ws.readHeaderTimeout", "readHeaderTimeout"], "duration"],
  [["ws.readBufferSize", "readBufferSize"], "int"],
  [["ws.writeBufferSize", "writeBufferSize"], "int"],
  [["ws.enableCompression", "enableCompression"], "bool"],
  [["ws.header", "header"], "map"],
  [["ws.keepalive", "keepalive"], "bool"],
  [["ttl", "keepalive.interval"], "duration"],
  [["tcp.keepalive"], "bool"],
  [["tcp.keepalive.idle"], "duration"],
  [["tcp.keepalive.interval"], "duration"],
  [["tcp.keepalive.count"], "int"],
];

/** GOST's pht/phts listener keys. */
const PHT_LISTENER: readonly GostKeyGroup[] = [
  [["authorizePath"], "string"],
  [["pushPath"], "string"],
  [["pullPath"], "string"],
  [["backlog"], "int"],
  [["mptcp"], "bool"],
];

/** GOST's pht/phts dialer keys. */
const PHT_DIALER: readonly GostKeyGroup[] = [
  [["authorizePath"], "string"],
  [["pushPath"], "string"],
  [["pullPath"], "string"],
  [["host"], "string"],
  [["header"], "map"],
];

/** GOST's quic listener and dialer keys (x/listener/quic, x/dialer/quic; `backlog` is the listener's only). */
const QUIC: readonly GostKeyGroup[] = [
  [["keepAlive"], "bool"],
  [["ttl"], "duration"],
  [["handshakeTimeout"], "duration"],
  [["maxIdleTimeout"], "duration"],
  [["maxStreams"], "int"],
  [["quic.enableDatagram", "enableDatagram"], "bool"],
  [["cipherKey"], "string"],
];

/** GOST's h2/h2c listener keys (x/listener/http2/h2). */
const H2_LISTENER: readonly GostKeyGroup[] = [
  [["path"], "string"],
  [["backlog"], "int"],
  [["mptcp"], "bool"],
];

/** GOST's h2/h2c dialer keys (x/dialer/http2/h2). */
const H2_DIALER: readonly GostKeyGroup[] = [
  [["host"], "string"],
  [["path"], "string"],
  [["header"], "map"],
];

/** GOST's gRPC keep-alive and TCP keep-alive keys, read by its grpc listener and dialer. */
const GRPC_KEEPALIVE: readonly GostKeyGroup[] = [
  [["grpc.keepalive", "keepalive", "keepAlive"], "bool"],
  [["grpc.keepalive.time", "keepalive.time"], "duration"],
  [["grpc.keepalive.timeout", "keepalive.timeout"], "duration"],
  [["grpc.keepalive.permitWithoutStream", "keepalive.permitWithoutStream"], "bool"],
  [["tcp.keepalive"], "bool"],
  [["tcp.keepalive.idle"], "duration"],
  [["tcp.keepalive.interval"], "duration"],
  [["tcp.keepalive.count"], "int"],
];

/** GOST's kcp keys, listener and dialer alike (x/listener/kcp, x/dialer/kcp metadata.go). */
const KCP: readonly GostKeyGroup[] = [
  [["kcp.configFile", "configFile", "c"], "string"],
  [["kcp.config", "config"], "map"],
  [["kcp.tcp", "tcp"], "bool"],
  [["kcp.key"], "string"],
  [["kcp.crypt"], "string"],
  [["kcp.mode"], "string"],
  [["kcp.keepalive"], "int"],
  [["kcp.interval"], "int"],
  [["kcp.mtu"], "int"],
  [["kcp.rcvwnd"], "int"],
  [["kcp.sndwnd"], "int"],
  [["kcp.smuxver"], "int"],
  [["kcp.smuxbuf"], "int"],
  [["kcp.streambuf"], "int"],
  [["kcp.nocomp"], "bool"],
];

/**
 * GOST's keys per component id (`handler http`, `listener tcp`, `connector socks5`, `dialer mtls`, `service`,
 * `node`, `hop`).
 */
export const GOST_METADATA_KEYS: Readonly<Record<string, readonly GostKeyGroup[]>> = {
  "handler auto": [],
  "handler http": [
    [["readTimeout"], "duration"],
    [["idleTimeout"], "duration"],
    [["http.header", "header"], "map"],
    [["http.keepalive", "keepalive"], "bool"],
    [["http.compression", "compression"], "bool"],
    [["probeResist", "probe_resist"], "string"],
    [["knock"], "string"],
    [["udp"], "bool"],
    [["udp.bufferSize", "udpBufferSize"], "int"],
    [["hash"], "string"],
    [["authBasicRealm"], "string"],
    ...OBSERVER,
    [["http.proxyAgent", "proxyAgent"], "string"],
    ...SNIFFING,
    ...MITM,
    ...LIMITER,
  ],
  "handler socks4": [
    [["readTimeout"], "duration"],
    [["hash"], "string"],
    ...OBSERVER,
    ...SNIFFING,
    ...MITM,
    ...LIMITER,
  ],
  "handler socks5": [
    [["socks.publicAddr", "publicAddr"], "string"],
    [["readTimeout"], "duration"],
    [["notls"], "bool"],
    [["bind"], "bool"],
    [["udp"], "bool"],
    [["udp.bufferSize", "udpBufferSize"], "int"],
    [["udp.resolveDomain", "udpResolveDomain"], "bool"],
    [["udp.bindRange.min", "udp.minPort"], "int"],
    [["udp.bindRange.max", "udp.maxPort"], "int"],
    [["comp"], "bool"],
    [["hash"], "string"],
    [["tor", "enableTor", "socks5.tor"], "bool"],
    ...MUX,
    ...OBSERVER,
    ...SNIFFING,
    ...MITM,
    ...LIMITER,
  ],
  "handler tcp": [
    [["readTimeout"], "duration"],
    [["idleTimeout"], "duration"],
    [["http.keepalive"], "bool"],
    [["proxyProtocol"], "int"],
    ...SNIFFING,
    ...MITM,
    [["stateless"], "bool"],
    [["bufferSize", "readBufferSize", "udp.bufferSize"], "int"],
  ],
  "handler relay": [
    [["readTimeout"], "duration"],
    [["udp.bufferSize", "udpBufferSize"], "int"],
    [["bind"], "bool"],
    [["nodelay"], "bool"],
    [["hash"], "string"],
    ...MUX,
    ...OBSERVER,
    ...SNIFFING,
    ...MITM,
    ...LIMITER,
  ],
  "handler rtcp": [
    [["readTimeout"], "duration"],
    [["idleTimeout"], "duration"],
    [["http.keepalive"], "bool"],
    [["proxyProtocol"], "int"],
    ...SNIFFING,
    ...MITM,
  ],
  "handler tunnel": [
    [["readTimeout"], "duration"],
    [["entrypoint", "entryPoint"], "string"],
    [["entrypoint.id", "entryPoint.id"], "string"],
    [["entrypoint.ProxyProtocol"], "int"],
    [["entrypoint.keepalive"], "bool"],
    [["entrypoint.compression"], "bool"],
    [["entrypoint.readTimeout"], "duration"],
    [["entrypoints"], "strings"],
    [["sniffing.websocket"], "bool"],
    [["sniffing.websocket.sampleRate"], "float"],
    [["tunnel.ttl"], "duration"],
    [["tunnel.direct"], "bool"],
    [["ingress"], "string"],
    [["tunnel"], "string"],
    [["sd"], "string"],
    ...MUX,
    ...OBSERVER,
    ...LIMITER,
  ],
  "handler metrics": [
    [["metrics.path", "path"], "string"],
  ],
  "handler api": [
    [["api.accessLog", "accessLog"], "bool"],
    [["api.pathPrefix", "pathPrefix"], "string"],
  ],
  "handler ss": [
    [["readTimeout"], "duration"],
    [["users"], "map"],
    [["key"], "string"],
    [["hash"], "string"],
    ...SNIFFING,
    ...MITM,
  ],
  "handler file": [
    [["file.dir", "dir"], "string"],
    [["file.put", "put"], "bool"],
  ],
  "handler ssu": [
    [["key"], "string"],
    [["readTimeout"], "duration"],
    [["udpBufferSize", "udp.bufferSize"], "int"],
    [["users"], "map"],
  ],
  "handler dns": [
    [["readTimeout"], "duration"],
    [["ttl"], "duration"],
    [["timeout"], "duration"],
    [["clientIP"], "string"],
    [["dns"], "strings"],
    [["bufferSize"], "int"],
    [["async"], "bool"],
  ],
  "listener dns": [
    [["backlog"], "int"],
    [["mode"], "string"],
    [["readBufferSize"], "int"],
    [["readTimeout"], "duration"],
    [["writeTimeout"], "duration"],
    [["mptcp"], "bool"],
  ],
  "handler sni": [
    [["readTimeout"], "duration"],
    [["hash"], "string"],
    [["sniffing.websocket"], "bool"],
    [["sniffing.websocket.sampleRate"], "float"],
    ...MITM,
  ],
  "handler http2": [
    [["http.header", "header"], "map"],
    [["probeResist", "probe_resist"], "string"],
    [["knock"], "string"],
    [["hash"], "string"],
    [["authBasicRealm"], "string"],
    ...OBSERVER,
    [["readTimeout", "read.timeout"], "duration"],
    ...LIMITER,
  ],
  "listener tcp": [
    [["mptcp"], "bool"],
    [["reuseport"], "bool"],
    ...TCP_KEEPALIVE,
  ],
  "listener udp": [
    [["backlog"], "int"],
    [["keepalive"], "bool"],
    [["ttl", "keepalive.ttl"], "duration"],
    [["readBufferSize", "udp.bufferSize"], "int"],
    [["readQueueSize", "recvQueueSize"], "int"],
    [["stateless"], "bool"],
  ],
  "listener tls": [
    [["mptcp"], "bool"],
    ...TCP_KEEPALIVE,
  ],
  "listener rtcp": [],
  "listener rudp": [
    [["ttl"], "duration"],
    [["readBufferSize"], "int"],
    [["readQueueSize"], "int"],
    [["backlog"], "int"],
  ],
  "listener mtcp": [
    [["mptcp"], "bool"],
    [["reuseport"], "bool"],
    ...MUX,
    [["backlog"], "int"],
    ...TCP_KEEPALIVE,
  ],
  "listener mtls": [
    [["backlog"], "int"],
    ...MUX,
    [["mptcp"], "bool"],
    ...TCP_KEEPALIVE,
  ],
  "listener ws": WS_LISTENER,
  "listener wss": WS_LISTENER,
  "listener mws": [...WS_LISTENER, ...MUX],
  "listener mwss": [...WS_LISTENER, ...MUX],
  "listener ohttp": [
    [["header"], "map"],
    [["mptcp"], "bool"],
  ],
  "listener otls": [
    [["mptcp"], "bool"],
  ],
  "listener pht": PHT_LISTENER,
  "listener phts": PHT_LISTENER,
  "listener h2": H2_LISTENER,
  "listener h2c": H2_LISTENER,
  "listener grpc": [
    [["grpc.backlog", "backlog"], "int"],
    [["grpc.insecure", "grpcInsecure", "insecure"], "bool"],
    [["grpc.path", "path"], "string"],
    ...GRPC_KEEPALIVE,
    [["grpc.keepalive.minTime", "keepalive.minTime"], "duration"],
    [["grpc.keepalive.maxConnectionIdle", "keepalive.maxConnectionIdle"], "duration"],
    [["mptcp"], "bool"],
  ],
  "listener http2": [
    [["backlog"], "int"],
    [["mptcp"], "bool"],
    ...TCP_KEEPALIVE,
  ],
  "listener quic": [...QUIC, [["backlog"], "int"]],
  "listener kcp": [...KCP, [["backlog"], "int"]],
  "connector http": [
    [["timeout"], "duration"],
    [["header"], "map"],
  ],
  "connector socks4": [
    [["timeout"], "duration"],
    [["disable4a"], "bool"],
  ],
  "connector socks5": [
    [["timeout"], "duration"],
    [["notls"], "bool"],
    [["relay"], "string"],
    [["udp.bufferSize", "udpBufferSize"], "int"],
    [["udp.timeout"], "duration"],
    ...MUX,
  ],
  "connector direct": [
    [["action"], "string"],
  ],
  "connector forward": [],
  "connector relay": [
    [["connectTimeout"], "duration"],
    [["nodelay"], "bool"],
    ...MUX,
  ],
  "connector tunnel": [
    [["connectTimeout"], "duration"],
    [["tunnelID", "tunnel.id"], "string"],
    [["tunnel.weight"], "int"],
    [["record.mode"], "string"],
    ...MUX,
  ],
  "connector ss": [
    [["key"], "string"],
    [["timeout"], "duration"],
  ],
  "connector ssu": [
    [["key"], "string"],
    [["timeout", "connectTimeout"], "duration"],
    [["udpBufferSize", "udp.bufferSize"], "int"],
  ],
  "connector http2": [
    [["timeout"], "duration"],
    [["header"], "map"],
  ],
  "connector sni": [
    [["host"], "string"],
    [["timeout"], "duration"],
  ],
  "dialer tcp": [
    ...TCP_KEEPALIVE,
  ],
  "dialer udp": [],
  "dialer direct": [],
  "dialer tls": [
    [["handshakeTimeout"], "duration"],
    ...TCP_KEEPALIVE,
  ],
  "dialer ohttp": [
    [["obfs.host", "host"], "string"],
    [["obfs.path", "path"], "string"],
    [["obfs.header", "header"], "map"],
  ],
  "dialer otls": [
    [["host"], "string"],
  ],
  "dialer pht": PHT_DIALER,
  "dialer phts": PHT_DIALER,
  "dialer h2": H2_DIALER,
  "dialer h2c": H2_DIALER,
  "dialer grpc": [
    [["grpc.insecure", "grpcInsecure", "insecure"], "bool"],
    [["grpc.authority", "grpc.host", "host"], "string"],
    [["grpc.path", "path"], "string"],
    ...GRPC_KEEPALIVE,
    [["grpc.minConnectTimeout", "minConnectTimeout"], "duration"],
  ],
  "dialer quic": QUIC,
  "dialer http2": [],
  "dialer mtcp": [
    [["handshakeTimeout"], "duration"],
    ...TCP_KEEPALIVE,
    ...MUX,
  ],
  "dialer mtls": [
    [["handshakeTimeout"], "duration"],
    ...TCP_KEEPALIVE,
    ...MUX,
  ],
  "dialer ws": WS_DIALER,
  "dialer wss": WS_DIALER,
  "dialer mws": [...WS_DIALER, ...MUX],
  "dialer mwss": [...WS_DIALER, ...MUX],
  "dialer kcp": [...KCP, [["handshakeTimeout"], "duration"]],
  "service": [
    [["proxyProtocol"], "int"],
    [["interface"], "string"],
    [["so_mark"], "int"],
    [["preUp"], "strings"],
    [["preDown"], "strings"],
    [["postUp"], "strings"],
    [["postDown"], "strings"],
    [["ignoreChain"], "bool"],
    [["enableStats"], "bool"],
    [["observer.resetTraffic"], "bool"],
    [["observer.period", "observePeriod"], "duration"],
    [["netns"], "string"],
    [["netns.out"], "string"],
    [["dialTimeout"], "duration"],
    ...LIMITER,
    [["limiter.scope"], "string"],
    [["labels"], "map"],
  ],
  "node": [
    [["proxyProtocol"], "int"],
    [["so_mark"], "int"],
    [["interface"], "string"],
    [["netns"], "string"],
    [["weight"], "int"],
    [["backup"], "bool"],
    [["maxFails"], "int"],
    [["failTimeout"], "duration"],
  ],
  "hop": [
    [["interface"], "string"],
    [["so_mark"], "int"],
    [["proxyProtocol"], "int"],
    [["netns"], "string"],
  ],
};

/** gost.ts types that are GOST's other name for a component above, or that bundle several (`auto`). */
const SAME_AS: Readonly<Record<string, readonly string[]>> = {
  "handler auto": ["handler http", "handler socks4", "handler socks5"],
  "handler socks": ["handler socks5"],
  "handler socks4a": ["handler socks4"],
  "handler forward": ["handler tcp"],
  "handler udp": ["handler tcp"],
  "handler rudp": ["handler rtcp"],
  "connector socks": ["connector socks5"],
  "connector socks4a": ["connector socks4"],
  "connector virtual": ["connector direct"],
  "dialer virtual": ["dialer direct"],
};

/**
 * GOST's keys of one gost.ts component (its own list, or those of the GOST components it stands for); empty for a
 * component GOST has no counterpart of.
 * @example gostKeysOf("handler socks").some(([keys]) => keys.includes("udp")) // true
 */
export function gostKeysOf(component: string): readonly GostKeyGroup[] {
  const same = SAME_AS[component];
  if (!same) return GOST_METADATA_KEYS[component] ?? [];
  return same.flatMap((c) => GOST_METADATA_KEYS[c] ?? []);
}
