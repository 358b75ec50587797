import { readFileSync, statSync, type Stats } from "node:fs";
import { die, isHvsimError } from "../../core/errors.ts";

/** Bounds on input files, checked before reading: a file past them is refused without being held. */
export const INPUT_BYTES_MAX = {
  /** A guest image (ELF or raw): more than any VM's memory the scenarios describe. */
  image: 256 * 2 ** 20,
  /** An AVB image or key, a DICE chain in CBOR. */
  avb: 64 * 2 ** 20,
  key: 2 ** 20,
  cbor: 16 * 2 ** 20,
} as const;

/**
 * A regular file of at most `maxBytes`, read whole; otherwise one line saying why not, without
 * the path (the caller puts it where its messages put it). Checked before reading: a device or a
 * FIFO (`/dev/zero`, a pipe) would never end, and a huge file would be held in memory whole.
 */
export function readRegularFile(path: string, maxBytes: number): Uint8Array {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return die("ARGUMENT_INVALID", code === "ENOENT" ? "no such file" : `cannot be read (${code ?? String(e)})`);
  }
  if (st.isDirectory()) die("ARGUMENT_INVALID", "a directory, not a file");
  if (!st.isFile()) die("ARGUMENT_INVALID", "not a regular file (a device or a FIFO cannot be read as one)");
  if (st.size > maxBytes) die("ARGUMENT_INVALID", `${st.size} bytes, more than the ${maxBytes} such a file may have`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    return die("ARGUMENT_INVALID", `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** The same, with the reason put after `prefix` (e.g. `--key k.pem: `). */
export function readInputFile(prefix: string, path: string, maxBytes: number): Uint8Array {
  try {
    return readRegularFile(path, maxBytes);
  } catch (e) {
    if (isHvsimError(e)) die("ARGUMENT_INVALID", `${prefix}${e.message}`);
    throw e;
  }
}
