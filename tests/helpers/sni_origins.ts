/**
 * Peers of the SNI proxy tests: a throwaway certificate for a set of names (openssl), HTTPS origins (node:https,
 * so they can report the `server_name` they were sent) and plain HTTP origins on a loopback address of their own
 * (127.x.y.z, port 443 / 80 as an SNI proxy dials), and a real ClientHello captured from a node:tls client.
 * @module
 */
import { createServer, type Server } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { HandshakeReader } from "../../core/bufio.ts";
import { readClientHello } from "../../core/tls_client_hello.ts";

/** A self-signed certificate for `names` (its own CA): paths and PEM text. */
export interface NamesCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Makes a self-signed certificate whose subjectAltName lists `names`. */
export async function namesCert(names: string[]): Promise<NamesCert> {
  const dir = await Deno.makeTempDir({ prefix: "gost-sni-" });
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${names[0]}`,
      "-addext",
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`openssl: ${new TextDecoder().decode(out.stderr)}`);
  return {
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A loopback address of the tests' own (127.x.y.1 … 127.x.y.254): no other test's origin listens there. */
export function loopbackNet(): (n: number) => string {
  const x = 100 + Math.floor(Math.random() * 150), y = 1 + Math.floor(Math.random() * 250);
  return (n) => `127.${x}.${y}.${n}`;
}

/** A running origin. */
export interface Origin {
  close(): Promise<void>;
}

/**
 * An HTTPS origin on `ip:443` answering `<label> sni=<server_name> host=<Host> path=<path>`
 * (plus ` gost-target` when that header reached it).
 */
export async function httpsOrigin(ip: string, label: string, c: NamesCert, port = 443): Promise<Origin> {
  const server: Server = createServer({ cert: c.cert, key: c.key }, (req, res) => {
    // deno-lint-ignore no-explicit-any
    const sni = (req.socket as any).servername;
    const extra = req.headers["gost-target"] ? " gost-target" : "";
    res.end(`${label} sni=${sni} host=${req.headers.host} path=${req.url}${extra}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A plain HTTP origin on `ip:port` answering `<label> host=<Host> path=<path>` (plus ` gost-target`). */
export function httpOriginAt(ip: string, label: string, port = 80): Origin {
  const server = Deno.serve({ hostname: ip, port, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const extra = req.headers.has("gost-target") ? " gost-target" : "";
    return new Response(`${label} host=${req.headers.get("host")} path=${url.pathname}${extra}`);
  });
  return { close: () => server.shutdown() };
}

/** The first flight a node:tls client sends for `servername` (read by a plain TCP server). */
export async function captureClientHello(servername: string, alpn = ["h2", "http/1.1"]): Promise<Uint8Array> {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  const sock = tlsConnect({ host: "127.0.0.1", port, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
  sock.on("error", () => {});
  const c = await ln.accept();
  try {
    return (await readClientHello(new HandshakeReader(c))).raw;
  } finally {
    sock.destroy();
    c.close();
    ln.close();
  }
}
