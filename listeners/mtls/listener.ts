/**
 * The `mtls` listener (GOST's x/listener/mtls): the `tls` listener's conns (handshakes in the background, client
 * certificates with `caFile`), each carrying an smux server session whose streams are the handler's conns
 * ({@link MuxServerListener}).
 * @module
 */
import type { ListenerOptions } from "../../core/contracts.ts";
import { MuxServerListener } from "../mtcp/listener.ts";
import { TlsListener } from "../tls/listener.ts";

/** smux (version 1 unless `mux.version` says otherwise, as GOST's mtls) over the conns of a `tls` listener. */
export function mtlsListener(opts: ListenerOptions): MuxServerListener {
  return new MuxServerListener(new TlsListener(opts), opts, {}, "mtls");
}
