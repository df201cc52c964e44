/**
 * A tunnel request's features as GOST reads them (docs/wire.md, "Tunnel"): the first Addr is the source, the second
 * the target; the Tunnel feature names the tunnel; the UDP flag or the Network feature the network.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { HandshakeError } from "../../core/errors.ts";
import { sendError } from "../relay/scope.ts";
import { Cmd, FLAG_UDP, NetworkId, type RelayRequest, Status } from "../relay/wire.ts";
import { idFromFeature, isZeroId } from "./id.ts";

/** A tunnel request's facts, in GOST's reading: the first Addr is the source, the second the target. */
export interface TunnelRequest {
  cmd: number;
  network: "tcp" | "udp";
  /** The 20-byte tunnel id. */
  tunnelId: Uint8Array;
  src: string;
  /** The second Addr as `host:port` ("" when absent). */
  dst: string;
  dstHost: string;
  dstPort: number;
}

/**
 * Reads a tunnel request's features.
 * @throws {HandshakeError} after answering Bad Request: no tunnel id, a zero one, or a network other than tcp/udp
 */
export async function tunnelRequest(
  conn: Conn,
  req: RelayRequest,
): Promise<TunnelRequest & { user?: string; pass?: string }> {
  const addrs: { host: string; port: number }[] = [];
  let tunnel: Uint8Array | undefined;
  let network = 0;
  let user: string | undefined, pass: string | undefined;
  for (const f of req.features) {
    if (f.kind === "addr") addrs.push(f);
    else if (f.kind === "tunnel") tunnel = f.id;
    else if (f.kind === "network") network = f.network;
    else if (f.kind === "auth") [user, pass] = [f.username, f.password];
  }
  if (!tunnel || isZeroId(tunnel)) {
    await sendError(conn, Status.BadRequest);
    throw new HandshakeError(tunnel ? "Tunnel request with a zero tunnel id" : "Tunnel request without a tunnel id");
  }
  const udp = (req.flags & FLAG_UDP) !== 0 || network === NetworkId.Udp;
  if (!udp && (network === NetworkId.Ip || network === NetworkId.Unix || network === NetworkId.Serial)) {
    await sendError(conn, Status.BadRequest);
    throw new HandshakeError(`Tunnel network 0x${network.toString(16)} is not supported (tcp and udp are)`);
  }
  const [src, dst] = addrs;
  const join = (a?: { host: string; port: number }) =>
    a ? (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`) : "";
  return {
    cmd: req.cmd === 0 ? Cmd.Connect : req.cmd,
    network: udp ? "udp" : "tcp",
    tunnelId: idFromFeature(tunnel),
    src: join(src),
    dst: join(dst),
    dstHost: dst?.host ?? "",
    dstPort: dst?.port ?? 0,
    user,
    pass,
  };
}
