/** Reading bitbake signature files of either format, recognised by their content. */

import { zstdDecompressSync } from "node:zlib";
import { SiginfoError } from "./error.ts";
import { toSigInfo } from "./normalize.ts";
import { unpickle } from "./pickle.ts";
import type { SigInfo } from "./types.ts";
import { zstdFramesComplete } from "./zstdframes.ts";

export { SiginfoError } from "./error.ts";
export type { SigInfo, SiginfoFormat } from "./types.ts";

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const PICKLE_PROTO = 0x80;
// Signature files are a few hundred kB at most; refuse to inflate anything absurdly large.
const MAX_JSON_BYTES = 256 * 1024 * 1024;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function decodeJson(bytes: Uint8Array, name: string): unknown {
  if (!zstdFramesComplete(bytes)) throw new SiginfoError(name, "truncated or corrupt zstd data");
  let text: string;
  try {
    const raw = zstdDecompressSync(bytes, { maxOutputLength: MAX_JSON_BYTES });
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (err) {
    throw new SiginfoError(name, `corrupt zstd data: ${message(err)}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SiginfoError(name, `corrupt JSON inside the zstd data: ${message(err)}`, {
      cause: err,
    });
  }
}

function decodePickle(bytes: Uint8Array, name: string): unknown {
  try {
    return unpickle(bytes);
  } catch (err) {
    const problem = /end of file/i.test(message(err)) ? "truncated pickle" : "corrupt pickle";
    throw new SiginfoError(name, `${problem}: ${message(err)}`, { cause: err });
  }
}

/**
 * Parses the bytes of a signature file: zstd-compressed JSON (bitbake >= 2.0) or a pickle
 * (bitbake <= 1.52). `name` is used in error messages. Throws `SiginfoError`.
 */
export function parseSiginfo(bytes: Uint8Array, name: string): SigInfo {
  if (bytes.length === 0) throw new SiginfoError(name, "empty file");
  if (ZSTD_MAGIC.every((b, i) => i >= bytes.length || bytes[i] === b)) {
    return toSigInfo(decodeJson(bytes, name), "json", name);
  }
  if (bytes[0] === PICKLE_PROTO) return toSigInfo(decodePickle(bytes, name), "pickle", name);
  throw new SiginfoError(name, "not a signature file (neither zstd-compressed JSON nor a pickle)");
}

/** Reads and parses the signature file at `path`. Throws `SiginfoError`, also when unreadable. */
export async function readSiginfoFile(path: string): Promise<SigInfo> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new SiginfoError(path, `cannot read: ${message(err)}`, { cause: err });
  }
  return parseSiginfo(bytes, path);
}
