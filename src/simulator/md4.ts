// MD4 (RFC 1320), written out because Node's OpenSSL 3 no longer offers md4 and NTLM's NT hash needs it.
// Only the simulator uses it, to check NTLMv2 responses; it is not for anything that needs a secure hash.

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

// Round constants and the message-word order of rounds 2 and 3 (RFC 1320 section 3.4).
const R2 = 0x5a827999;
const R3 = 0x6ed9eba1;
const ORDER2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const ORDER3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const SHIFTS = [
  [3, 7, 11, 19],
  [3, 5, 9, 13],
  [3, 9, 11, 15],
];

/** Message + 0x80 + zeros to 56 mod 64 + the bit length as a 64-bit little-endian number. */
function pad(data: Uint8Array): Buffer {
  const total = Math.ceil((data.length + 9) / 64) * 64;
  const out = Buffer.alloc(total);
  out.set(data);
  out[data.length] = 0x80;
  const bits = BigInt(data.length) * 8n;
  out.writeBigUInt64LE(bits & 0xffffffffffffffffn, total - 8);
  return out;
}

function compress(state: Uint32Array, x: Uint32Array): void {
  let [a, b, c, d] = [state[0]!, state[1]!, state[2]!, state[3]!];
  const round = (f: (b: number, c: number, d: number) => number, add: number, order: number[] | undefined, s: number[]): void => {
    for (let i = 0; i < 16; i++) {
      const word = x[order ? order[i]! : i]!;
      const t = rotl((a + f(b, c, d) + word + add) | 0, s[i % 4]!);
      // The four registers take turns: each step writes the oldest and the rest shift along.
      [a, b, c, d] = [d, t, b, c];
    }
  };
  round((b, c, d) => (b & c) | (~b & d), 0, undefined, SHIFTS[0]!);
  round((b, c, d) => (b & c) | (b & d) | (c & d), R2, ORDER2, SHIFTS[1]!);
  round((b, c, d) => b ^ c ^ d, R3, ORDER3, SHIFTS[2]!);
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

/** The 16-byte MD4 digest of `data`. */
export function md4(data: Uint8Array): Buffer {
  const padded = pad(data);
  const state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const words = new Uint32Array(16);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) words[i] = padded.readUInt32LE(block + i * 4);
    compress(state, words);
  }
  const out = Buffer.alloc(16);
  state.forEach((v, i) => out.writeUInt32LE(v, i * 4));
  return out;
}
