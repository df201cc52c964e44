/**
 * wss and mwss through nginx, as deployed behind a reverse proxy: nginx (started by the test on a free loopback port,
 * config written here: daemon off, every path in a temp dir) terminates TLS with a test CA's certificate and proxies
 * `/ws` and `/mws` with `proxy_http_version 1.1` and the Upgrade/Connection headers to plain `relay+ws://` and
 * `relay+mws://` gost.ts nodes. The entry dials `relay+wss://` / `relay+mwss://` to nginx and checks the certificate
 * against that CA (`secure=true&caFile=…`). curl goes through to an origin; over mwss, many concurrent requests ride
 * one WebSocket through nginx. Skipped, saying why, when nginx is not installed (.ci/run installs nginx-light).
 */
import { equal, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { establishedTo } from "../helpers/sockets.ts";
import { makePki, type Pki } from "../helpers/tls_fixtures.ts";
import { listening, until } from "../helpers/wait.ts";

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
if (!NGINX) console.log("nginx_ws_test: skipped: nginx is not installed (apt-get install nginx-light)");

/** A running nginx. */
interface Nginx extends AsyncDisposable {
  port: number;
}

/** Starts nginx on a free loopback port: TLS with `pki`'s server certificate, `/ws` and `/mws` to the given ports. */
async function startNginx(pki: Pki, routes: Record<string, number>): Promise<Nginx> {
  const dir = await Deno.makeTempDir({ prefix: "gost-nginx-" });
  const port = freePort();
  const locations = Object.entries(routes).map(([path, to]) => `
    location = ${path} {
      proxy_pass http://127.0.0.1:${to};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }`).join("\n");
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${pki.serverCert};
    ssl_certificate_key ${pki.serverKey};
${locations}
  }
}
`;
  Deno.writeTextFileSync(`${dir}/nginx.conf`, conf);
  const child = new Deno.Command(NGINX!, {
    args: ["-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const errors = () => {
    try {
      return Deno.readTextFileSync(`${dir}/error.log`);
    } catch {
      return "";
    }
  };
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await until(() => listening(port), `nginx listening on ${port}`, 10_000);
  } catch (err) {
    await stop();
    throw new Error(`${err}\n${errors()}`);
  }
  return { port, [Symbol.asyncDispose]: stop };
}

Deno.test({
  name: "relay+wss and relay+mwss through nginx (TLS at nginx, plain ws/mws behind it): curl reaches the origin; " +
    "30 concurrent requests ride one mwss WebSocket",
  ignore: !NGINX,
  fn: async () => {
    await using pki = await makePki();
    const origin = httpOrigin();
    const [wsPort, mwsPort, wssEntry, mwssEntry] = [freePort(), freePort(), freePort(), freePort()];
    await using _ws = await startGost(["-L", `relay+ws://127.0.0.1:${wsPort}?path=/ws`]);
    await using _mws = await startGost(["-L", `relay+mws://127.0.0.1:${mwsPort}?path=/mws`]);
    await using nginx = await startNginx(pki, { "/ws": wsPort, "/mws": mwsPort });
    const tls = `secure=true&caFile=${pki.caCert}`;
    await using _wss = await startGost([
      "-L",
      `http://127.0.0.1:${wssEntry}`,
      "-F",
      `relay+wss://127.0.0.1:${nginx.port}?path=/ws&${tls}`,
    ]);
    await using _mwss = await startGost([
      "-L",
      `http://127.0.0.1:${mwssEntry}`,
      "-F",
      `relay+mwss://127.0.0.1:${nginx.port}?path=/mws&${tls}`,
    ]);
    const get = (entry: number, path: string) =>
      curl("-sS", "--max-time", "20", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}${path}`);
    try {
      const r = await get(wssEntry, "/wss");
      equal(r.stdout, "hello /wss", r.stderr);
      const big = await get(wssEntry, "/bytes/3000000");
      equal(big.stdout.length, 3_000_000, big.stderr);
      // the entry knows only nginx's port: the ws node's conns are nginx's upgraded proxy conns
      ok(establishedTo(wsPort) >= 1, "nginx holds an upgraded conn to the ws node");

      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => get(mwssEntry, `/m${i}`)));
      equal(
        results.filter((x, i) => x.stdout === `hello /m${i}`).length,
        30,
        results.find((x) => x.stderr)?.stderr ?? "",
      );
      const dl = await get(mwssEntry, "/bytes/3000000");
      equal(dl.stdout.length, 3_000_000, dl.stderr);
      equal(establishedTo(mwsPort), 1, "one WebSocket from nginx to the mws node");
    } finally {
      await origin.close();
    }
  },
});
