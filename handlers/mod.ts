/**
 * The one list of built-in protocols.
 * @module
 */
import type { Registries } from "../core/registries.ts";
import { register as api } from "./api/mod.ts";
import { register as auto } from "./auto/mod.ts";
import { register as direct } from "./direct/mod.ts";
import { register as dns } from "./dns/mod.ts";
import { register as file } from "./file/mod.ts";
import { register as forward } from "./forward/mod.ts";
import { register as http } from "./http/mod.ts";
import { register as http2 } from "./http2/mod.ts";
import { register as metrics } from "./metrics/mod.ts";
import { register as relay } from "./relay/mod.ts";
import { register as socks4 } from "./socks4/mod.ts";
import { register as sni } from "./sni/mod.ts";
import { register as socks5 } from "./socks5/mod.ts";
import { register as ss } from "./ss/mod.ts";
import { register as ssu } from "./ssu/mod.ts";
import { register as tunnel } from "./tunnel/mod.ts";

/** Registers every built-in handler type. */
export function registerHandlers(reg: Registries): void {
  auto(reg);
  http(reg);
  socks4(reg);
  socks5(reg);
  forward(reg);
  relay(reg);
  api(reg);
  metrics(reg);
  direct(reg);
  ss(reg);
  ssu(reg);
  dns(reg);
  file(reg);
  tunnel(reg);
  sni(reg);
  http2(reg);
}
