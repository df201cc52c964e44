/**
 * Reed-Solomon erasure coding over GF(2^8) as klauspost/reedsolomon builds it by default (what kcp-go's FEC uses):
 * polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2, and the encoding matrix a Vandermonde matrix of
 * `dataShards + parityShards` rows times the inverse of its top square, so that the data shards pass through and
 * the parity rows are what the peer computes (docs/wire.md, "KCP").
 * @module
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
(function buildTables() {
  for (let i = 0, x = 1; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
})();

/** a · b in GF(2^8). */
export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

/** a^n in GF(2^8) (klauspost's `galExp`). */
function gfExp(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a] * n) % 255];
}

/** 1/a in GF(2^8). */
function gfInv(a: number): number {
  return EXP[255 - LOG[a]];
}

/** Multiplication tables by each coefficient, built on first use. */
const MUL: (Uint8Array | undefined)[] = [];
function mulTable(c: number): Uint8Array {
  let t = MUL[c];
  if (!t) {
    t = new Uint8Array(256);
    for (let x = 0; x < 256; x++) t[x] = gfMul(c, x);
    MUL[c] = t;
  }
  return t;
}

type Matrix = Uint8Array[];

function multiply(a: Matrix, b: Matrix): Matrix {
  const cols = b[0].length;
  return a.map((row) => {
    const out = new Uint8Array(cols);
    for (let c = 0; c < cols; c++) {
      let v = 0;
      for (let k = 0; k < row.length; k++) v ^= gfMul(row[k], b[k][c]);
      out[c] = v;
    }
    return out;
  });
}

/**
 * The inverse of a square matrix by Gauss-Jordan elimination.
 * @throws {Error} when the matrix is singular
 */
function invert(m: Matrix): Matrix {
  const n = m.length;
  const work = m.map((row, i) => {
    const r = new Uint8Array(2 * n);
    r.set(row);
    r[n + i] = 1;
    return r;
  });
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && work[pivot][col] === 0) pivot++;
    if (pivot === n) throw new Error("Reed-Solomon: singular matrix");
    [work[col], work[pivot]] = [work[pivot], work[col]];
    const inv = gfInv(work[col][col]);
    for (let c = 0; c < 2 * n; c++) work[col][c] = gfMul(work[col][c], inv);
    for (let r = 0; r < n; r++) {
      const f = work[r][col];
      if (r === col || f === 0) continue;
      for (let c = 0; c < 2 * n; c++) work[r][c] ^= gfMul(f, work[col][c]);
    }
  }
  return work.map((r) => r.slice(n));
}

/** klauspost's default encoding matrix: Vandermonde times the inverse of its top square. */
function buildMatrix(dataShards: number, totalShards: number): Matrix {
  const vm: Matrix = [];
  for (let r = 0; r < totalShards; r++) {
    const row = new Uint8Array(dataShards);
    for (let c = 0; c < dataShards; c++) row[c] = gfExp(r, c);
    vm.push(row);
  }
  return multiply(vm, invert(vm.slice(0, dataShards)));
}

/** out ^= c · src over `n` bytes. */
function mulAdd(c: number, src: Uint8Array, out: Uint8Array, n: number, first: boolean): void {
  if (c === 0) {
    if (first) out.fill(0, 0, n);
    return;
  }
  if (c === 1) {
    if (first) out.set(src.subarray(0, n));
    else for (let i = 0; i < n; i++) out[i] ^= src[i];
    return;
  }
  const t = mulTable(c);
  if (first) { for (let i = 0; i < n; i++) out[i] = t[src[i]]; }
  else for (let i = 0; i < n; i++) out[i] ^= t[src[i]];
}

/**
 * An encoder/decoder for one shape (`dataShards` + `parityShards`, at most 256 shards in all).
 * @example
 * const rs = new ReedSolomon(10, 3);
 * rs.encode(shards, size); // shards[10..12] = parity of shards[0..9]
 */
export class ReedSolomon {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly #matrix: Matrix;

  /** @throws {RangeError} when a count is not positive or there are more than 256 shards */
  constructor(dataShards: number, parityShards: number) {
    if (!(dataShards > 0 && parityShards > 0 && dataShards + parityShards <= 256)) {
      throw new RangeError(`Reed-Solomon: bad shard counts ${dataShards}+${parityShards}`);
    }
    this.dataShards = dataShards;
    this.parityShards = parityShards;
    this.#matrix = buildMatrix(dataShards, dataShards + parityShards);
  }

  /** Writes the parity of the first `size` bytes of `shards[0..dataShards)` into the parity shards that follow. */
  encode(shards: Uint8Array[], size: number): void {
    const d = this.dataShards;
    for (let p = 0; p < this.parityShards; p++) {
      const row = this.#matrix[d + p];
      const out = shards[d + p];
      for (let i = 0; i < d; i++) mulAdd(row[i], shards[i], out, size, i === 0);
    }
  }

  /**
   * Rebuilds the missing data shards (null entries below `dataShards`) from any `dataShards` present shards, each
   * `size` bytes. Parity shards are not rebuilt.
   * @returns the indexes rebuilt, each written into a new buffer in `shards`
   * @throws {Error} when fewer than `dataShards` shards are present
   */
  reconstructData(shards: (Uint8Array | null)[], size: number): number[] {
    const d = this.dataShards;
    const missing: number[] = [];
    for (let i = 0; i < d; i++) if (!shards[i]) missing.push(i);
    if (missing.length === 0) return [];
    const rows: number[] = [];
    for (let i = 0; i < shards.length && rows.length < d; i++) if (shards[i]) rows.push(i);
    if (rows.length < d) throw new Error("Reed-Solomon: too few shards to reconstruct");
    const decode = invert(rows.map((r) => this.#matrix[r]));
    for (const m of missing) {
      const out = new Uint8Array(size);
      const coef = decode[m];
      for (let k = 0; k < d; k++) mulAdd(coef[k], shards[rows[k]]!, out, size, k === 0);
      shards[m] = out;
    }
    return missing;
  }
}
