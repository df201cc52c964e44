/**
 * A dead loopback target never looks alive through TCP's self-connect: a dial to 127.0.0.1:P from the source port P
 * (the kernel may pick the target's own port when it is in the ephemeral range) connects the socket to itself, so a
 * proxy would report success and echo the client's bytes. In a network namespace of its own whose ephemeral range is
 * the one port 40000, every dial to 127.0.0.1:40000 gets that source port: the SOCKS5 reply must be a failure.
 */
import { equal, match, notEqual } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

const SCRIPT = `
set -e
ip link set lo up
echo "40000 40000" > /proc/sys/net/ipv4/ip_local_port_range
"$DENO" run -A --unstable-net --quiet main.ts -D -L socks5://127.0.0.1:41001 2>"$LOG" &
gost=$!
trap 'kill $gost 2>/dev/null || true' EXIT
for i in $(seq 1 600); do grep -q "listening on" "$LOG" && break; sleep 0.05; done
grep -q "listening on" "$LOG"
python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 45000))  # not the ephemeral port: that one is the target's
s.settimeout(20)
s.connect(("127.0.0.1", 41001))
s.sendall(b"\\x05\\x01\\x00")
assert s.recv(2) == b"\\x05\\x00"
s.sendall(b"\\x05\\x01\\x00\\x01" + bytes([127, 0, 0, 1]) + (40000).to_bytes(2, "big"))
reply = b""
while len(reply) < 10:
    chunk = s.recv(10 - len(reply))
    if not chunk:
        break
    reply += chunk
print("REPLY", reply.hex())
PY
`;

async function userNamespaces(): Promise<boolean> {
  try {
    const out = await new Deno.Command("unshare", { args: ["-rn", "true"], stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test("a dial to a dead loopback port that the kernel self-connects fails instead of echoing", async () => {
  if (!(await userNamespaces())) {
    console.log("skipped: unshare -rn (an unprivileged network namespace) is not available on this machine");
    return;
  }
  const log = await Deno.makeTempFile({ prefix: "gost-selfconn-" });
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-rn", "bash", "-c", SCRIPT],
      cwd: ROOT,
      env: { DENO: Deno.execPath(), LOG: log, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const gostLog = await Deno.readTextFile(log);
    equal(out.code, 0, `${stdout}\n${new TextDecoder().decode(out.stderr)}\n${gostLog}`);
    const reply = /REPLY ([0-9a-f]+)/.exec(stdout)?.[1] ?? "";
    match(reply, /^05/, stdout);
    notEqual(reply.slice(2, 4), "00", `the dead target was reported connected: ${stdout}\n${gostLog}`);
    match(gostLog, /dial tcp 127\.0\.0\.1:40000/);
  } finally {
    await Deno.remove(log).catch(() => {});
  }
});
