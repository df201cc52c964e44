/**
 * The kcp settings: GOST's defaults (the empty key GOST's code runs with), the layers file → map → single keys, the
 * mode profiles, `manual` when tuning keys come without a mode, and every refusal naming its key.
 */
import { deepEqual, equal, throws } from "node:assert/strict";
import { ConfigError } from "../../../core/errors.ts";
import { Metadata } from "../../../core/metadata.ts";
import { KCP_DEFAULTS, parseKcpConfig } from "../../../listeners/kcp/config.ts";

const parse = (md: Record<string, unknown>) => parseKcpConfig(new Metadata(md)).config;

Deno.test("kcp defaults are GOST's DefaultConfig after Init (mode fast), with the empty key", () => {
  const c = parse({});
  equal(c.key, "");
  equal(c.crypt, "aes");
  equal(c.mode, "fast");
  deepEqual([c.nodelay, c.interval, c.resend, c.nc], [0, 30, 2, 1]);
  deepEqual([c.mtu, c.sndwnd, c.rcvwnd, c.datashard, c.parityshard], [1350, 1024, 1024, 10, 3]);
  deepEqual([c.smuxver, c.smuxbuf, c.streambuf, c.keepalive, c.nocomp], [1, 4194304, 2097152, 10, false]);
  equal(KCP_DEFAULTS.sockbuf, 4194304);
});

Deno.test("kcp settings: file, then map, then the single kcp.* keys; kcptun-only JSON keys are ignored", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        key: "from-file",
        crypt: "salsa20",
        mtu: 1200,
        datashard: 0,
        parityshard: 0,
        sockbuf: 1048576,
        remoteaddr: "vps:29900",
        conn: 2,
      }),
    );
    const { config: c, sockbufSet } = parseKcpConfig(
      new Metadata({ c: file, config: { crypt: "xtea", sndwnd: 256 }, "kcp.mtu": "1000", "kcp.nocomp": "true" }),
    );
    equal(c.key, "from-file");
    equal(c.crypt, "xtea");
    equal(c.sndwnd, 256);
    equal(c.mtu, 1000);
    equal(c.nocomp, true);
    deepEqual([c.datashard, c.parityshard], [0, 0]);
    deepEqual([c.smuxbuf, c.streambuf], [1048576, 524288], "smuxbuf and streambuf follow sockbuf");
    equal(sockbufSet, true);
  } finally {
    await Deno.remove(file);
  }
  // a URL gives the map as JSON text
  equal(parse({ "kcp.config": '{"mode":"fast3"}' }).interval, 10);
});

Deno.test("kcp modes set nodelay/interval/resend/nc; tuning keys without a mode mean manual", () => {
  deepEqual([parse({ "kcp.mode": "normal" }).interval, parse({ "kcp.mode": "fast2" }).nodelay], [40, 1]);
  const manual = parse({ "kcp.interval": 20 });
  equal(manual.mode, "manual");
  deepEqual([manual.nodelay, manual.interval, manual.resend, manual.nc], [0, 20, 0, 0]);
  // an explicit profile wins over explicit values, as in GOST and kcptun
  equal(parse({ "kcp.mode": "fast", "kcp.interval": 20 }).interval, 30);
  equal(parse({ config: { mode: "manual", nodelay: 1, interval: 15, resend: 3, nc: 1 } }).resend, 3);
});

Deno.test("kcp refusals name the key: tcp, dscp, snmplog, crypts, modes, ranges", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ "kcp.tcp": "true" }, /"kcp\.tcp" = true is not supported .* raw sockets/],
    [{ tcp: true }, /"tcp" = true is not supported/],
    [{ config: { dscp: 46 } }, /"config" field "dscp" = 46 is not supported/],
    [{ config: { snmplog: "/tmp/x" } }, /"snmplog" = "\/tmp\/x" is not supported/],
    [{ "kcp.crypt": "blowfish" }, /"kcp\.crypt" = "blowfish" is not supported by gost\.ts yet/],
    [{ "kcp.crypt": "chacha" }, /"kcp\.crypt" = "chacha" is not a crypt/],
    [{ "kcp.mode": "turbo" }, /"kcp\.mode" = "turbo" is not a mode/],
    [{ "kcp.mtu": 2000 }, /"kcp\.mtu" must be between 100 and 1500, got 2000/],
    [{ "kcp.interval": 5 }, /"kcp\.interval" must be between 10 and 5000/],
    [{ "kcp.keepalive": 60 }, /"kcp\.keepalive" must be between 1 and 30/],
    [{ "kcp.smuxver": 3 }, /"kcp\.smuxver" must be 1 or 2/],
    [{ "kcp.mtu": "big" }, /"kcp\.mtu" must be an integer, got "big"/],
    [{ "kcp.sndwnd": -1 }, /"kcp\.sndwnd" must not be negative/],
    [{ config: "[1]" }, /"config" must be a JSON object/],
    [{ "kcp.configFile": "/nonexistent.json" }, /"kcp\.configFile" = "\/nonexistent\.json": cannot read it/],
    [{ "kcp.smuxver": 2, "kcp.smuxbuf": 1000, "kcp.streambuf": 2000 }, /"kcp\.streambuf" \(2000\) must not be larger/],
    [{ config: { datashard: 200, parityshard: 100 } }, /must be at most 255, got 300/],
  ];
  for (const [md, re] of bad) throws(() => parse(md), (e: Error) => e instanceof ConfigError && re.test(e.message));
});
