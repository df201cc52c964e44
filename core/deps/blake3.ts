/**
 * BLAKE3 (`npm:@noble/hashes`), for the Shadowsocks 2022 methods' keys (handlers/ss/ss2022/). Loaded only with them.
 * @module
 */
export { blake3 } from "npm:@noble/hashes@2.4.0/blake3.js";
