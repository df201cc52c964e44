/**
 * The kcp transport's codecs on known bytes: the ciphers (FIPS-197 AES, Go's TEA/XTEA/Salsa20 vectors), CFB as
 * kcp-go runs it, the key derivation, the datagram seal/open with its CRC, the KCP segment header, the FEC header
 * and size field, Reed-Solomon rebuilding lost shards, and snappy blocks and chunks including malformed ones.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { AesCfb } from "../../../listeners/kcp/aes.ts";
import {
  checkCrypt,
  CRYPT_HEADER_SIZE,
  CRYPTS,
  deriveKey,
  open,
  packetCipher,
  seal,
} from "../../../listeners/kcp/crypt.ts";
import { FecDecoder, FecEncoder, TYPE_DATA, TYPE_PARITY } from "../../../listeners/kcp/fec.ts";
import { encodeHeader, IKCP_CMD_PUSH } from "../../../listeners/kcp/kcp.ts";
import { gfMul, ReedSolomon } from "../../../listeners/kcp/reed_solomon.ts";
import { salsa20Key, salsa20Xor } from "../../../listeners/kcp/salsa20.ts";
import { Cfb64, tea, xtea } from "../../../listeners/kcp/tea.ts";
import { decodeBlock, encode, maskedCrc, MAX_ENCODED_LEN_OF_MAX_BLOCK } from "../../../listeners/kcp/snappy.ts";
import { ConfigError } from "../../../core/errors.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
/** kcp-go's CFB IV. */
const IV = hex("a7734f9c12ac1b01a415f2c1fc78e66b");

Deno.test("AES enciphers the FIPS-197 appendix C vectors (128, 192, 256-bit keys)", () => {
  const pt = hex("00112233445566778899aabbccddeeff");
  for (
    const [key, ct] of [
      ["000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"],
      ["000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"],
      ["000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089"],
    ]
  ) {
    const out = new Uint8Array(16);
    new AesCfb(hex(key), IV).encryptBlock(pt, out);
    equal(toHex(out), ct);
  }
});

/** CFB-128 built from native AES-ECB one block at a time: the reference. */
function referenceCfb(key: Uint8Array, p: Uint8Array): Uint8Array {
  const ecb = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  ecb.setAutoPadding(false);
  const out = new Uint8Array(p.length);
  let prev = IV;
  for (let i = 0; i < p.length; i += 16) {
    const ks = ecb.update(prev);
    for (let j = 0; j < 16 && i + j < p.length; j++) out[i + j] = p[i + j] ^ ks[j];
    prev = out.slice(i, i + 16);
  }
  return out;
}

Deno.test("the aes crypts are CFB-128 with kcp-go's IV, partial last block included, and invert", () => {
  const pass = deriveKey("k");
  for (const [name, keyLen] of [["aes", 32], ["aes-128", 16], ["aes-192", 24]] as const) {
    const cipher = packetCipher(name, pass);
    for (const len of [20, 21, 36, 100, 1350, 1500]) {
      const p = crypto.getRandomValues(new Uint8Array(len));
      const q = p.slice();
      cipher.encrypt(q);
      equal(toHex(q), toHex(referenceCfb(pass.subarray(0, keyLen), p)), `${name} ${len}`);
      cipher.decrypt(q);
      equal(toHex(q), toHex(p), `${name} ${len} round trip`);
    }
  }
});

Deno.test("TEA and XTEA encipher Go's x/crypto test vectors (TEA with 64 and 16 rounds)", () => {
  const out = new Uint32Array(2);
  const block = (f: (a: number, b: number, o: Uint32Array) => void, pt: string) => {
    const p = hex(pt);
    const dv = new DataView(p.buffer);
    f(dv.getUint32(0), dv.getUint32(4), out);
    const r = new Uint8Array(8);
    new DataView(r.buffer).setUint32(0, out[0]);
    new DataView(r.buffer).setUint32(4, out[1]);
    return toHex(r);
  };
  equal(block(tea(new Uint8Array(16), 64), "0000000000000000"), "41ea3a0a94baa940");
  equal(block(tea(new Uint8Array(16).fill(0xff), 64), "ffffffffffffffff"), "319bbefb016abdb2");
  equal(block(tea(new Uint8Array(16), 16), "0000000000000000"), "ed285da1455b33c1");
  const k = hex("000102030405060708090a0b0c0d0e0f");
  equal(block(xtea(k), "4142434445464748"), "497df3d072612cb5");
  equal(block(xtea(k), "4141414141414141"), "e78f2d13744341d8");
  equal(block(xtea(k), "5a5b6e278948d77f"), "4141414141414141");
});

Deno.test("CFB over 8-byte blocks inverts, the tail XORed with the keystream", () => {
  const c = new Cfb64(xtea(hex("000102030405060708090a0b0c0d0e0f")), IV);
  for (const len of [1, 8, 9, 77]) {
    const p = crypto.getRandomValues(new Uint8Array(len));
    const q = p.slice();
    c.encrypt(q);
    ok(toHex(q) !== toHex(p));
    c.decrypt(q);
    equal(toHex(q), toHex(p));
  }
});

Deno.test("Salsa20 matches Go's x/crypto vector (XOR of 131072 keystream bytes folded to 64)", () => {
  const key = salsa20Key(hex("0053A6F94C9FF24598EB3E91E4378ADD3083D6297CCF2275C81B6EC11467BA0D"));
  const buf = new Uint8Array(131072);
  salsa20Xor(buf, hex("0D74DB42A91077DE"), key);
  const fold = new Uint8Array(64);
  for (let i = 0; i < buf.length; i++) fold[i & 63] ^= buf[i];
  equal(
    toHex(fold),
    "c349b6a51a3ec9b712eaed3f90d8bcee69b7628645f251a996f55260c62ef31f" +
      "d6c6b0aea94e136c9d984ad2df3578f78e457527b03a0450580dd874f63b1ab9",
  );
});

Deno.test("the key is pbkdf2-sha1(key, kcp-go, 4096, 32): kcptun's default and GOST's empty key", () => {
  equal(toHex(deriveKey("it's a secrect")), "25d7d7bd51050742d8d791f2b653c6c8b2366b7e25a124cf7a2e12eaf4ffa444");
  equal(toHex(deriveKey("")), "b23383c32eefa3753ab6db6e639a0ddc3b50ec6b6c623c9171a15ba0879945cd");
});

Deno.test("a sealed datagram is nonce, CRC-32 of the payload, payload, all enciphered; open checks the CRC", () => {
  const pass = deriveKey("k");
  const payload = new TextEncoder().encode("kcp payload");
  for (const name of CRYPTS) {
    const cipher = packetCipher(name, pass);
    const p = new Uint8Array(CRYPT_HEADER_SIZE + payload.length);
    p.set(payload, CRYPT_HEADER_SIZE);
    seal(p, cipher);
    if (name === "none") {
      // CRC-32 (IEEE) of "kcp payload", little-endian after the 16-byte nonce
      equal(toHex(p.subarray(16, 20)), toHex(crc32le(payload)));
      equal(new TextDecoder().decode(p.subarray(20)), "kcp payload");
    } else {
      ok(!toHex(p).includes(toHex(payload)), `${name} leaves the payload visible`);
    }
    const q = p.slice();
    deepEqual(open(q, cipher), payload, name);
    const bad = p.slice();
    bad[bad.length - 1] ^= 1;
    equal(open(bad, cipher), null, `${name}: a flipped bit fails the CRC`);
    equal(open(new Uint8Array(19), cipher), null, `${name}: shorter than the header`);
  }
  // another key cannot open it
  const p = new Uint8Array(CRYPT_HEADER_SIZE + 4);
  seal(p, packetCipher("aes", pass));
  equal(open(p, packetCipher("aes", deriveKey("other"))), null);
});

/** CRC-32 (IEEE), little-endian, bit by bit: the reference. */
function crc32le(b: Uint8Array): Uint8Array {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  c = ~c >>> 0;
  return Uint8Array.of(c, c >>> 8, c >>> 16, c >>> 24);
}

Deno.test("crypt names: GOST's crypts gost.ts lacks and unknown names are ConfigErrors", () => {
  equal(checkCrypt("salsa20", "crypt"), "salsa20");
  throws(() => checkCrypt("sm4", "crypt"), (e: Error) => e instanceof ConfigError && /not supported/.test(e.message));
  throws(() => checkCrypt("aes-256", "crypt"), /not a crypt \(GOST would silently use aes\)/);
});

Deno.test("a KCP segment header is conv, cmd, frg, wnd, ts, sn, una, len, little-endian", () => {
  const b = new Uint8Array(24);
  encodeHeader(b, 0, 0x11223344, IKCP_CMD_PUSH, 0, 1024, 0xaabbccdd, 7, 5, 1300);
  equal(toHex(b), "44332211" + "51" + "00" + "0004" + "ddccbbaa" + "07000000" + "05000000" + "14050000");
});

Deno.test("FEC: data shards get seqid, flag 0xf1 and their size; after each group its parity shards, flag 0xf2", () => {
  const enc = new FecEncoder(2, 1, CRYPT_HEADER_SIZE);
  const shard = (n: number, fill: number) => {
    const p = new Uint8Array(CRYPT_HEADER_SIZE + 8 + n).fill(fill, CRYPT_HEADER_SIZE + 8);
    return p;
  };
  const a = shard(3, 0xaa);
  deepEqual(enc.encode(a), []);
  equal(toHex(a.subarray(20)), "00000000" + "f100" + "0500" + "aaaaaa");
  const b = shard(1, 0xbb);
  const parity = enc.encode(b);
  equal(toHex(b.subarray(20)), "01000000" + "f100" + "0300" + "bb");
  equal(parity.length, 1);
  const p = parity[0];
  equal(toHex(p.subarray(20, 26)), "02000000" + "f200");
  // with 2 data shards and 1 parity, klauspost's parity row is [3, 2] (Vandermonde [1 2] times the inverse of
  // [[1 0] [1 1]]): 3·a ⊕ 2·b over the zero-padded shards from their size field on
  const a2 = [0x05, 0x00, 0xaa, 0xaa, 0xaa], b2 = [0x03, 0x00, 0xbb, 0, 0];
  equal(toHex(p.subarray(26)), toHex(Uint8Array.from(a2, (x, i) => gfMul(3, x) ^ gfMul(2, b2[i]))));
  // the next group starts at seqid 3
  const c = shard(1, 1);
  enc.encode(c);
  equal(toHex(c.subarray(20, 24)), "03000000");
});

Deno.test("FEC: the decoder rebuilds a lost data shard from the parity, and drops duplicates", () => {
  const enc = new FecEncoder(3, 2, 0);
  const data = [5, 40, 17].map((n, i) => {
    const p = new Uint8Array(8 + n);
    for (let j = 8; j < p.length; j++) p[j] = (j * (i + 3)) & 0xff;
    return p;
  });
  const parity = data.flatMap((d) => enc.encode(d));
  equal(parity.length, 2);
  const dec = new FecDecoder(3, 2);
  deepEqual(dec.decode(data[0], 0), []);
  deepEqual(dec.decode(data[0], 0), [], "a duplicate rebuilds nothing");
  deepEqual(dec.decode(data[2], 0), []);
  const rebuilt = dec.decode(parity[1], 0); // data[1] lost
  equal(rebuilt.length, 1);
  const r = rebuilt[0];
  const size = r[0] | (r[1] << 8);
  equal(size, 42);
  deepEqual(r.subarray(2, size), data[1].subarray(8));
  equal(dec.recovered, 1);
});

Deno.test("FEC: a decoder with other shard counts finds the sender's from the flags (auto-tune)", () => {
  const enc = new FecEncoder(4, 2, 0);
  const dec = new FecDecoder(10, 3);
  let rebuilt = 0;
  for (let g = 0; g < 60; g++) {
    const group: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      const p = new Uint8Array(8 + 10).fill(g + i, 8);
      group.push(p, ...enc.encode(p));
    }
    if (g >= 30) group.splice(1, 1); // once tuned, lose the second data shard of every group
    for (const p of group) rebuilt += dec.decode(p, 0).length;
  }
  deepEqual(dec.shape, [4, 2]);
  ok(rebuilt >= 25, `rebuilt ${rebuilt} shards once tuned`);
});

Deno.test("Reed-Solomon: any data-shard count of shards rebuild the data; fewer throw", () => {
  const rs = new ReedSolomon(10, 3);
  const shards = Array.from({ length: 13 }, (_, i) => {
    const s = new Uint8Array(64);
    if (i < 10) crypto.getRandomValues(s);
    return s;
  });
  rs.encode(shards, 64);
  const orig = shards.map((s) => s.slice());
  const lossy: (Uint8Array | null)[] = shards.map((s) => s.slice());
  lossy[0] = lossy[4] = lossy[9] = null;
  deepEqual(rs.reconstructData(lossy, 64), [0, 4, 9]);
  for (const i of [0, 4, 9]) deepEqual(lossy[i], orig[i]);
  const tooFew: (Uint8Array | null)[] = shards.map((s) => s.slice());
  for (const i of [1, 2, 3, 5]) tooFew[i] = null;
  throws(() => rs.reconstructData(tooFew, 64), /too few shards/);
});

Deno.test("snappy: known blocks decode (literals, 1-, 2- and 4-byte-offset copies, overlapping copies)", () => {
  const dec = (h: string, max = 1024) => {
    const out = new Uint8Array(max);
    return new TextDecoder().decode(out.subarray(0, decodeBlock(hex(h), out)));
  };
  // "abcabcabcabc": literal "abc" (tag 0x08), copy1 length 9 offset 3 (tag 0x15, 0x03)
  equal(dec("0c" + "08616263" + "1503"), "abcabcabcabc");
  // copy2: length 5 offset 3 (tag (4<<2)|2 = 0x12, 03 00)
  equal(dec("08" + "08616263" + "120300"), "abcabcab");
  // copy4: length 4 offset 1 (tag (3<<2)|3 = 0x0f, 01 00 00 00): "x" then "xxxx"
  equal(dec("05" + "0078" + "0f01000000"), "xxxxx");
  // a literal with a one-byte length (tag 60<<2 = 0xf0): 61 bytes of "z"
  equal(dec("3d" + "f03c" + "7a".repeat(61)), "z".repeat(61));
});

Deno.test("snappy: malformed blocks are refused, never read past their input or output", () => {
  const out = new Uint8Array(16);
  for (
    const [h, why] of [
      ["", "no length"],
      ["ffffffffff0f", "length varint too long"],
      ["20" + "00", "decoded length over the buffer"],
      ["04" + "0c616263", "literal past the input"],
      ["04" + "0061" + "0105", "copy offset past the start"],
      ["03" + "0061" + "0500", "copy length past the decoded length"],
      ["02" + "0061", "fewer bytes than announced"],
      ["01" + "0061" + "15", "short copy tag"],
    ]
  ) {
    throws(() => decodeBlock(hex(h), out), /snappy: corrupt input/, why);
  }
});

Deno.test("snappy: blocks round-trip (empty, tiny, compressible, random, 64 KiB) and compress repetitive data", () => {
  const out = new Uint8Array(MAX_ENCODED_LEN_OF_MAX_BLOCK);
  const back = new Uint8Array(65536);
  const cases = [
    new Uint8Array(0),
    Uint8Array.of(1, 2, 3),
    new Uint8Array(65536).map((_, i) => (i * 31) & 0xff),
    crypto.getRandomValues(new Uint8Array(65536)),
    new TextEncoder().encode("GET / HTTP/1.1\r\nHost: example\r\n\r\n".repeat(40)),
  ];
  for (const c of cases) {
    const n = encode(c, out);
    const m = decodeBlock(out.subarray(0, n), back);
    equal(m, c.length);
    deepEqual(back.subarray(0, m), c);
  }
  ok(encode(cases[2], out) < 4096, "a 256-byte period compresses");
  // the framing format's masked CRC-32C: crc32c("123456789") is e3069283
  const c = 0xe3069283;
  equal(maskedCrc(new TextEncoder().encode("123456789")), (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
});

Deno.test("parity datagrams carry the parity flag", () => {
  equal(TYPE_DATA, 0xf1);
  equal(TYPE_PARITY, 0xf2);
});
