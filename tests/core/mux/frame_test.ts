import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import {
  checkHeader,
  Cmd,
  decodeHeader,
  decodeUpd,
  encodeFrame,
  encodeUpd,
  FrameReader,
  MuxProtocolError,
} from "../../../core/mux/frame.ts";
import type { Conn } from "../../../core/conn.ts";

/** A conn that returns the given chunks one read at a time, then EOF. */
function chunks(...parts: number[][]): Conn {
  const queue = parts.map((p) => Uint8Array.from(p));
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  return {
    localAddr: addr,
    remoteAddr: addr,
    read(p) {
      const c = queue.shift();
      if (!c) return Promise.resolve(null);
      p.set(c);
      return Promise.resolve(c.length);
    },
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
}

Deno.test("smux SYN, FIN and NOP frames are 8 header bytes with LE length and stream id", () => {
  deepEqual([...encodeFrame(1, Cmd.SYN, 3)], [0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00]);
  deepEqual([...encodeFrame(1, Cmd.FIN, 0x01020304)], [0x01, 0x01, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01]);
  deepEqual([...encodeFrame(2, Cmd.NOP, 0)], [0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
});

Deno.test("smux PSH frame carries the payload after a little-endian length", () => {
  const payload = new Uint8Array(0x0102).fill(7);
  const f = encodeFrame(1, Cmd.PSH, 5, payload);
  deepEqual([...f.subarray(0, 8)], [0x01, 0x02, 0x02, 0x01, 0x05, 0x00, 0x00, 0x00]);
  equal(f.length, 8 + 0x0102);
  deepEqual(f.subarray(8), payload);
  throws(() => encodeFrame(1, Cmd.PSH, 5, new Uint8Array(65536)), RangeError);
});

Deno.test("smux UPD frame is consumed and window as u32 LE", () => {
  const f = encodeUpd(2, 7, 0x11223344, 65536);
  deepEqual([...f], [0x02, 0x04, 0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x01, 0x00]);
  deepEqual(decodeUpd(f, 8), { consumed: 0x11223344, window: 65536 });
});

Deno.test("smux header decodes the largest stream id and length", () => {
  const b = Uint8Array.from([0x02, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  deepEqual(decodeHeader(b), { version: 2, cmd: Cmd.PSH, length: 0xffff, sid: 0xffffffff });
});

Deno.test("smux header check refuses what would desynchronise the stream", () => {
  const h = (version: number, cmd: number, length = 0) => ({ version, cmd, length, sid: 1 });
  throws(() => checkHeader(h(2, Cmd.PSH), 1), MuxProtocolError);
  throws(() => checkHeader(h(1, 0x05), 1), /unknown smux command 0x05/);
  throws(() => checkHeader(h(1, Cmd.SYN, 4), 1), MuxProtocolError);
  throws(() => checkHeader(h(1, Cmd.NOP, 1), 1), MuxProtocolError);
  throws(() => checkHeader(h(1, Cmd.UPD, 8), 1), /version 1/);
  throws(() => checkHeader(h(2, Cmd.UPD, 4), 2), /expected 8/);
  checkHeader(h(2, Cmd.UPD, 8), 2);
  checkHeader(h(1, Cmd.PSH, 0), 1);
});

Deno.test("smux frame reader parses frames split across reads and several frames in one read", async () => {
  const r = new FrameReader(chunks(
    [0x01, 0x00, 0x00],
    [0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x00],
    [0x03, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  ));
  const syn = await r.next(1);
  deepEqual({ ...syn, payload: [...syn!.payload] }, { version: 1, cmd: Cmd.SYN, length: 0, sid: 3, payload: [] });
  const psh = await r.next(1);
  equal(psh!.cmd, Cmd.PSH);
  equal(new TextDecoder().decode(psh!.payload), "abc");
  equal((await r.next(1))!.cmd, Cmd.NOP);
  equal(await r.next(1), null);
});

Deno.test("smux frame reader fails on EOF inside a header or a payload", async () => {
  await rejects(new FrameReader(chunks([0x01, 0x02, 0x03])).next(1), /ended inside a frame/);
  await rejects(new FrameReader(chunks([0x01, 0x02, 0x03, 0x00, 0x03, 0, 0, 0, 0x61])).next(1), /inside a frame/);
  await rejects(new FrameReader(chunks([0x02, 0x00, 0, 0, 3, 0, 0, 0])).next(1), MuxProtocolError);
});
