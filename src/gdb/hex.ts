/**
 * The text forms the GDB remote protocol uses for numbers and bytes: hex digits, register values
 * in target byte order (little-endian here), and packets as Latin-1 strings (one character per
 * byte, so binary payloads survive the trip through string parsing).
 */

const HEX = "0123456789abcdef";

/** Bytes as lower-case hex, two digits each. */
export function hexOfBytes(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** Hex pairs back to bytes, or null when the text is not an even run of hex digits. */
export function bytesOfHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Text (UTF-8) as hex, for `O` console output and `qRcmd` replies. */
export const hexOfText = (text: string): string => hexOfBytes(new TextEncoder().encode(text));

/** A hex number of at most `maxDigits` digits (16: a 64-bit address), or null. */
export function parseHexNumber(text: string, maxDigits = 16): bigint | null {
  if (text.length === 0 || text.length > maxDigits || !/^[0-9a-fA-F]+$/.test(text)) return null;
  return BigInt(`0x${text}`);
}

/** `value` as `sizeBytes` little-endian bytes in hex (how `g` and `p` carry registers). */
export function hexLittleEndian(value: bigint, sizeBytes: number): string {
  let s = "";
  let v = BigInt.asUintN(sizeBytes * 8, value);
  for (let i = 0; i < sizeBytes; i++) {
    const b = Number(v & 0xffn);
    s += HEX[b >> 4]! + HEX[b & 15]!;
    v >>= 8n;
  }
  return s;
}

/** A packet's bytes as a string of the same length (Latin-1). */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** A Latin-1 string back to bytes; characters above 0xFF never occur in what the server builds. */
export function bytesOfLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
