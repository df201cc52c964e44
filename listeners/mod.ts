/**
 * The one list of built-in transports.
 * @module
 */
import type { Registries } from "../core/registries.ts";
import { register as direct } from "./direct/mod.ts";
import { register as dns } from "./dns/mod.ts";
import { register as grpc } from "./grpc/mod.ts";
import { register as h2, registerH2c as h2c } from "./h2/mod.ts";
import { register as http2 } from "./http2/mod.ts";
import { register as kcp } from "./kcp/mod.ts";
import { register as mtcp } from "./mtcp/mod.ts";
import { register as mtls } from "./mtls/mod.ts";
import { register as mws } from "./mws/mod.ts";
import { register as mwss } from "./mwss/mod.ts";
import { register as pht } from "./pht/mod.ts";
import { register as ohttp } from "./ohttp/mod.ts";
import { register as quic } from "./quic/mod.ts";
import { register as otls } from "./otls/mod.ts";
import { register as rtcp } from "./rtcp/mod.ts";
import { register as rudp } from "./rudp/mod.ts";
import { register as tcp } from "./tcp/mod.ts";
import { register as tls } from "./tls/mod.ts";
import { register as udp } from "./udp/mod.ts";
import { register as ws } from "./ws/mod.ts";
import { register as wss } from "./wss/mod.ts";

/** Registers every built-in listener type. */
export function registerListeners(reg: Registries): void {
  tcp(reg);
  udp(reg);
  tls(reg);
  rtcp(reg);
  rudp(reg);
  mtcp(reg);
  mtls(reg);
  ws(reg);
  wss(reg);
  mws(reg);
  mwss(reg);
  direct(reg);
  pht(reg);
  ohttp(reg);
  otls(reg);
  h2(reg);
  h2c(reg);
  grpc(reg);
  http2(reg);
  quic(reg);
  kcp(reg);
  dns(reg);
}
