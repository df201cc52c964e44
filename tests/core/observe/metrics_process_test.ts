import { deepEqual, equal, ok } from "node:assert/strict";
import { bootTime, collectProcess, renderProcess, softLimit } from "../../../core/observe/metrics_process.ts";
import { parsePromText } from "../../helpers/prom_text.ts";

const LINUX = Deno.build.os === "linux";

Deno.test({
  name: "on Linux the process collector exports the Go client's series, read from /proc",
  ignore: !LINUX,
  fn() {
    const fams = parsePromText(renderProcess());
    const types = Object.fromEntries([...fams.values()].map((f) => [f.name, f.type]));
    deepEqual(types, {
      process_cpu_seconds_total: "counter",
      process_max_fds: "gauge",
      process_open_fds: "gauge",
      process_resident_memory_bytes: "gauge",
      process_start_time_seconds: "gauge",
      process_virtual_memory_bytes: "gauge",
      process_virtual_memory_max_bytes: "gauge",
    });
    const v = (name: string) => fams.get(name)!.samples[0].value;
    const limits = Deno.readTextFileSync("/proc/self/limits");
    equal(v("process_max_fds"), softLimit(limits, "Max open files"));
    const before = v("process_open_fds");
    const f = Deno.openSync("/proc/self/limits");
    try {
      equal(collectProcess().find((s) => s.name === "process_open_fds")!.value, before + 1, "one more open file");
    } finally {
      f.close();
    }
    ok(v("process_virtual_memory_bytes") > v("process_resident_memory_bytes"));
    const start = v("process_start_time_seconds");
    // ps(1) tells the process' age on its own (seconds since it started, whole seconds)
    const ps = new Deno.Command("ps", { args: ["-o", "etimes=", "-p", String(Deno.pid)], stdout: "piped" })
      .outputSync();
    const age = Number(new TextDecoder().decode(ps.stdout).trim());
    const psStart = Date.now() / 1000 - age;
    ok(Math.abs(start - psStart) < 2.5, `start ${start} is the one ps says (${psStart})`);
    ok(v("process_cpu_seconds_total") > 0);
  },
});

Deno.test("HELP texts are the Go client's, and without /proc only the portable series remain", () => {
  const text = renderProcess(collectProcess(false));
  equal(
    text.replace(/ [\d.e+]+\n/g, " N\n"),
    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n" +
      "# TYPE process_resident_memory_bytes gauge\n" +
      "process_resident_memory_bytes N\n" +
      "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n" +
      "# TYPE process_start_time_seconds gauge\n" +
      "process_start_time_seconds N\n",
  );
});

Deno.test("limits and boot time are parsed as procfs parses them", () => {
  const limits = "Limit                     Soft Limit           Hard Limit           Units     \n" +
    "Max open files            1024                 524288               files     \n" +
    "Max address space         unlimited            unlimited            bytes     \n";
  equal(softLimit(limits, "Max open files"), 1024);
  equal(softLimit(limits, "Max address space"), 18446744073709551615);
  equal(softLimit(limits, "Max processes"), undefined);
  equal(bootTime("cpu  1 2 3\nbtime 1714000000\nprocesses 9\n"), 1714000000);
  equal(bootTime("cpu 1\n"), undefined);
});
