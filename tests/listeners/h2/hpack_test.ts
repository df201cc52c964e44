/**
 * HPACK and Huffman (RFC 7541) on raw bytes: the RFC's Appendix C examples decode to their header lists (with and
 * without Huffman, the dynamic table carried across requests), the encoder's blocks decode back, and every malformed
 * input is an HpackError.
 */
import { deepEqual, equal, throws } from "node:assert/strict";
import { HpackError } from "../../../listeners/h2/errors.ts";
import { encodeHeaders, type HeaderField, HpackDecoder } from "../../../listeners/h2/hpack.ts";
import { HUFFMAN_CODES, huffmanDecode, huffmanEncode } from "../../../listeners/h2/huffman.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const fields = (...pairs: [string, string][]): HeaderField[] => pairs.map(([name, value]) => ({ name, value }));

Deno.test("huffman: the canonical codes are RFC 7541 Appendix B's", () => {
  equal(HUFFMAN_CODES[48], 0x0); // '0' 5 bits
  equal(HUFFMAN_CODES[97], 0x3); // 'a'
  equal(HUFFMAN_CODES[32], 0x14); // ' ' 6 bits
  equal(HUFFMAN_CODES[0], 0x1ff8); // 13 bits
  equal(HUFFMAN_CODES[10], 0x3ffffffc); // '\n' 30 bits
  equal(HUFFMAN_CODES[256], 0x3fffffff); // EOS
});

Deno.test("huffman: RFC 7541 C.4 strings decode, and encode back", () => {
  for (
    const [h, s] of [
      ["f1e3 c2e5 f23a 6ba0 ab90 f4ff", "www.example.com"],
      ["a8eb 1064 9cbf", "no-cache"],
      ["25a8 49e9 5ba9 7d7f", "custom-key"],
      ["25a8 49e9 5bb8 e8b4 bf", "custom-value"],
      ["6402", "302"],
      ["aec3 771a 4b", "private"],
      ["d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ] as const
  ) {
    equal(text(huffmanDecode(hex(h))), s);
    deepEqual(huffmanEncode(new TextEncoder().encode(s)), hex(h));
  }
});

Deno.test("huffman: EOS inside, padding over 7 bits or not all ones are errors", () => {
  throws(() => huffmanDecode(Uint8Array.of(0xff, 0xff, 0xff, 0xff)), HpackError); // EOS (30 ones) + padding
  throws(() => huffmanDecode(Uint8Array.of(0x1f, 0xff)), HpackError); // 'a' then 11 bits of ones
  throws(() => huffmanDecode(Uint8Array.of(0x00)), HpackError); // '0' then 3 zero bits
});

Deno.test("hpack: RFC 7541 C.3 requests without Huffman share one dynamic table", () => {
  const d = new HpackDecoder();
  deepEqual(
    d.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")),
    fields([":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]),
  );
  equal(d.tableSize, 57);
  deepEqual(
    d.decode(hex("8286 84be 5808 6e6f 2d63 6163 6865")),
    fields([":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], [
      "cache-control",
      "no-cache",
    ]),
  );
  deepEqual(
    d.decode(hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")),
    fields([":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], [
      "custom-key",
      "custom-value",
    ]),
  );
  equal(d.tableSize, 164);
});

Deno.test("hpack: RFC 7541 C.4 requests with Huffman", () => {
  const d = new HpackDecoder();
  deepEqual(
    d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")),
    fields([":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]),
  );
  deepEqual(
    d.decode(hex("8286 84be 5886 a8eb 1064 9cbf")).at(-1),
    { name: "cache-control", value: "no-cache" },
  );
  deepEqual(
    d.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")).at(-1),
    { name: "custom-key", value: "custom-value" },
  );
});

Deno.test("hpack: C.5 responses evict the oldest entries of a 256-byte table", () => {
  const d = new HpackDecoder(256);
  // a table size update to 256 first, then the response of C.5.1
  d.decode(hex("3fe1 01"));
  const r1 = d.decode(
    hex(
      "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    ),
  );
  deepEqual(r1.map((f) => f.name), [":status", "cache-control", "date", "location"]);
  equal(d.tableSize, 222);
  const r2 = d.decode(hex("4803 3330 37c1 c0bf"));
  deepEqual(r2[0], { name: ":status", value: "307" });
  equal(d.tableSize, 222); // ":status: 302" was evicted to make room
});

Deno.test("hpack: the stateless encoder's blocks decode back", () => {
  const list = fields(
    [":status", "200"],
    [":method", "CONNECT"],
    [":authority", "example.com:443"],
    [
      "content-type",
      "application/grpc",
    ],
    ["x-custom", "v".repeat(300)],
    ["grpc-status", "0"],
  );
  const block = encodeHeaders(list);
  equal(block[0], 0x88); // :status 200 indexed
  deepEqual(new HpackDecoder().decode(block), list);
});

Deno.test("hpack: malformed blocks are HpackErrors", () => {
  const bad = [
    "80", // index 0
    "ff 00", // index 127 + 0: beyond the tables
    "41", // literal with indexed name, value missing
    "40 0a 61", // name longer than the block
    "82 3f e1 1f", // table size update after a field
    "3f e1 ff 7f", // table size update above the limit
    "ff ff ff ff ff ff 7f", // integer too large
    "00 81 ff", // Huffman string with padding of ones over 7 bits
  ];
  for (const h of bad) throws(() => new HpackDecoder().decode(hex(h)), HpackError, h);
  // a header list over the cap
  const big = encodeHeaders(fields(["x", "y".repeat(2000)]));
  throws(() => new HpackDecoder(4096, 1000).decode(big), HpackError);
});
