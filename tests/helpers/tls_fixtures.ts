/**
 * Shared pieces of the TLS transport tests: a throwaway PKI made with openssl, a TLS forward service, small
 * in-process peers, and a conn wrapper that is not a Deno socket.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { closeQuietly } from "../../core/conn.ts";
import { type Logger, nopLogger } from "../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../core/metadata.ts";
import type { ServerTlsOptions } from "../../core/contracts.ts";
import { NodeGroup } from "../../core/routing/node_group.ts";
import { DefaultRouter } from "../../core/routing/router.ts";
import { Service } from "../../core/service/service.ts";
import { ForwardHandler } from "../../handlers/forward/handler.ts";
import { TcpListener } from "../../listeners/tcp/listener.ts";
import { TlsListener } from "../../listeners/tls/listener.ts";
import { run } from "./run.ts";
import { readAll } from "./io.ts";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** Paths of a throwaway PKI. */
export interface Pki {
  dir: string;
  caCert: string;
  /** Server certificate for localhost / 127.0.0.1, signed by the CA. */
  serverCert: string;
  serverKey: string;
  /** Client certificate signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** A second CA and a client certificate it signed (must be refused). */
  otherCaCert: string;
  otherClientCert: string;
  otherClientKey: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${dec.decode(out.stderr)}`);
}

async function leaf(dir: string, name: string, ca: string, ext: string): Promise<void> {
  await openssl([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  ], dir);
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ], dir);
}

async function rootCa(dir: string, name: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-days",
    "1",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
  ], dir);
}

/** Makes a CA, a server and a client certificate (v3 with the usual extensions), and a foreign CA + client. */
export async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "gost-tls-" });
  await rootCa(dir, "ca");
  await rootCa(dir, "otherca");
  await leaf(
    dir,
    "server",
    "ca",
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  const clientExt = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n";
  await leaf(dir, "client", "ca", clientExt);
  await leaf(dir, "intruder", "otherca", clientExt);
  return {
    dir,
    caCert: `${dir}/ca.pem`,
    serverCert: `${dir}/server.pem`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.pem`,
    clientKey: `${dir}/client.key`,
    otherCaCert: `${dir}/otherca.pem`,
    otherClientCert: `${dir}/intruder.pem`,
    otherClientKey: `${dir}/intruder.key`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A running service on 127.0.0.1:0. */
export interface TestService {
  port: number;
  addr: string;
  service: Service;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves `listener` with a forward handler to `target` (a `host:port`). */
async function serve(
  listener: TlsListener | TcpListener,
  md: MetadataRecord,
  target: string,
  logger: Logger,
): Promise<TestService> {
  const router = new DefaultRouter({ logger });
  await listener.init(new Metadata(md));
  const forwarder = new NodeGroup([{ name: "target-0", addr: target, weight: 1, backup: false }]);
  const handler = new ForwardHandler({ service: "test", logger, router, forwarder }, "tcp");
  await handler.init(new Metadata({}));
  const service = new Service({ name: "test", listener, handler, logger });
  service.serve().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return { port, addr: `127.0.0.1:${port}`, service, [Symbol.asyncDispose]: () => service.close() };
}

/** A `tls` listener forwarding every conn to `target` (`forward+tls`, TLS terminated here). */
export function startTlsForward(
  target: string,
  o: { tls?: ServerTlsOptions; metadata?: MetadataRecord; logger?: Logger } = {},
): Promise<TestService> {
  const logger = o.logger ?? nopLogger;
  const listener = new TlsListener({
    addr: "127.0.0.1:0",
    logger,
    service: "test",
    router: new DefaultRouter({ logger }),
    tls: o.tls,
  });
  return serve(listener, o.metadata ?? {}, target, logger);
}

/** A plain `tcp` listener forwarding every conn to `target`. */
export function startTcpForward(target: string): Promise<TestService> {
  const listener = new TcpListener({
    addr: "127.0.0.1:0",
    logger: nopLogger,
    service: "test",
    router: new DefaultRouter({ logger: nopLogger }),
  });
  return serve(listener, {}, target, nopLogger);
}

/** Reads a conn to EOF (the shared helper, tests/helpers/io.ts). */
export { readAll };

/** Writes all of `p`. */
export async function writeAll(c: Conn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await c.write(p.subarray(off));
}

/**
 * A TCP peer for half-close checks. For each conn: sends `greeting` then half-closes at once, reads the client
 * to EOF, then — if `replyAfterEof` — still sends it (the client has already half-closed) and half-closes.
 * `received` resolves with what each conn sent.
 */
export function halfClosePeer(o: { greeting?: string; replyAfterEof?: (got: string) => string }) {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const results: { promise: Promise<string>; resolve: (s: string) => void }[] = [];
  const result = (i: number) => results[i] ??= Promise.withResolvers<string>();
  let accepted = 0;
  (async () => {
    for await (const c of ln) {
      conns.add(c);
      const done = result(accepted++).resolve;
      (async () => {
        try {
          if (o.greeting !== undefined) {
            await writeAll(c, enc.encode(o.greeting));
            await c.closeWrite();
          }
          const got = dec.decode(await readAll(c));
          if (o.replyAfterEof) {
            await writeAll(c, enc.encode(o.replyAfterEof(got)));
            await c.closeWrite();
          }
          done(got);
        } catch (err) {
          done(`error: ${err}`);
        } finally {
          conns.delete(c);
          closeQuietly(c);
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    /** What the n-th conn sent, once it reached EOF. */
    received: (n = 0) => result(n).promise,
    close() {
      closeQuietly(ln);
      for (const c of conns) closeQuietly(c);
    },
  };
}

/** A Conn that is not a Deno socket: it delegates to another conn, as a conn from an earlier chain hop would. */
export class OpaqueConn implements Conn {
  readonly #inner: Conn;
  reads = 0;
  constructor(inner: Conn) {
    this.#inner = inner;
  }
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }
  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    return this.#inner.read(p);
  }
  write(p: Uint8Array): Promise<number> {
    return this.#inner.write(p);
  }
  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }
  close(): void {
    this.#inner.close();
  }
}

/** Runs curl (`-s -S`, 10 s cap) and returns its exit code, body and errors. */
export function curl(args: string[]) {
  return run("curl", ["-s", "-S", "--max-time", "10", ...args], { timeoutMs: 20_000 });
}

/** `openssl s_client` against a port; returns its stdout (certificate chain and session). */
export async function sClient(port: number, extra: string[] = []): Promise<string> {
  const r = await run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...extra], {
    stdin: new Uint8Array(0),
    timeoutMs: 10_000,
  });
  return r.stdout + r.stderr;
}
