/**
 * GOST handler keys gost.ts does not act on are refused at start, naming the key and the value: probe resistance
 * and knock on http, socks5 and relay (a prober would get a 407, not the decoy), and the http handler's udp=true.
 */
import { equal, match } from "node:assert/strict";
import { runGost, startGost } from "../helpers/gost.ts";

Deno.test("probeResistance, knock and http udp=true fail at start naming the key and the value", async () => {
  const cases: [string, RegExp][] = [
    ["http://127.0.0.1:0?probeResistance=code:404", /handler http: probeResistance="code:404" is not supported/],
    ["socks5://127.0.0.1:0?probeResist=web:example.com", /handler socks5: probeResist="web:example\.com" is not/],
    ["relay://127.0.0.1:0?knock=www.example.com", /handler relay: knock="www\.example\.com" is not supported/],
    ["http://127.0.0.1:0?udp=true", /handler http: udp=.*true.* is not supported by gost\.ts yet: UDP over the HTTP/],
  ];
  for (const [url, want] of cases) {
    const r = await runGost(["-L", url]);
    equal(r.code === 0, false, url);
    match(r.stderr, want, url);
  }
  // udp=false is GOST's default and is accepted
  await using _ok = await startGost(["-L", "http://127.0.0.1:0?udp=false"]);
});
