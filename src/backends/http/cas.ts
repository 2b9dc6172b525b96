/**
 * The CAs https trusts: the default store (`DENO_TLS_CA_STORE`: `mozilla`, the default, and/or
 * `system`) plus the certificates of every CA setting that names a PEM file: the environment's
 * (`DENO_CERT`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`) for every https target, and those of a
 * backend (S3: `AWS_CA_BUNDLE`, else a profile's `ca_bundle`). And what a certificate that
 * cannot be verified is told with: which settings were read, and how to trust a private CA.
 */
import tls from "node:tls";
import { BackendError } from "../backend.ts";

/** One CA setting: its name as the user writes it, and the PEM file it names (if set). */
export interface CaSetting {
  /** `DENO_CERT`, `AWS_CA_BUNDLE`, `ca_bundle (profile 'ci')`, … */
  name: string;
  file?: string;
  /** Set but not used: the setting that takes precedence (`AWS_CA_BUNDLE` over `ca_bundle`). */
  overriddenBy?: string;
}

/** The variables every https target reads (besides `DENO_TLS_CA_STORE`). */
export const ENVIRONMENT_CA_VARIABLES = ["DENO_CERT", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"];

/** The environment's CA settings, as `env` has them. */
export function environmentCaSettings(env: Record<string, string | undefined>): CaSetting[] {
  return ENVIRONMENT_CA_VARIABLES.map((name) => ({ name, file: env[name] || undefined }));
}

const PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The certificates of one setting's file; a BackendError naming it when there are none. */
function certificatesOf(setting: CaSetting & { file: string }): string[] {
  let pem: string;
  try {
    pem = Deno.readTextFileSync(setting.file);
  } catch (err) {
    throw new BackendError(
      `cannot read the CA file ${setting.file} (${setting.name}): ${(err as Error).message}`,
      "target",
    );
  }
  const blocks = pem.match(PEM);
  if (!blocks) {
    throw new BackendError(
      `the CA file ${setting.file} (${setting.name}) holds no PEM certificate`,
      "target",
    );
  }
  return blocks;
}

/** The stores `DENO_TLS_CA_STORE` names (default `mozilla`). */
function defaultStore(env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const store of (env.DENO_TLS_CA_STORE || "mozilla").split(",").map((s) => s.trim())) {
    if (store === "mozilla") out.push(...tls.rootCertificates);
    else if (store === "system") out.push(...tls.getCACertificates("system"));
  }
  return out;
}

/** The certificates https trusts with `settings` (read from their files now). */
export function loadCas(
  settings: readonly CaSetting[],
  env: Record<string, string | undefined>,
): string[] {
  const out = defaultStore(env);
  for (const s of settings) {
    if (s.file && !s.overriddenBy) out.push(...certificatesOf({ ...s, file: s.file }));
  }
  return out;
}

/** Codes of certificates that no trusted CA vouches for: a private CA's, or a self-signed one. */
const UNKNOWN_ISSUER = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
]);

/** Whether `err` is the failure of TLS itself (a certificate, the handshake). */
export function isTlsFailure(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  const message = err instanceof Error ? err.message : String(err);
  return /CERT|UNABLE_TO_|ERR_TLS_|ERR_SSL_/.test(code) ||
    /certificate|UnknownIssuer/i.test(message);
}

/**
 * What to say about a certificate no trusted CA vouches for: the CA settings read (set or not)
 * and the one to set, e.g. "CA settings read: AWS_CA_BUNDLE (not set), DENO_CERT=/etc/ca.pem,
 * …; to trust a private CA, set AWS_CA_BUNDLE=/path/ca.pem …".
 */
export function untrustedHint(
  settings: readonly CaSetting[],
  env: Record<string, string | undefined>,
): string {
  const read = settings.map((s) =>
    !s.file
      ? `${s.name} (not set)`
      : `${s.name}=${s.file}${s.overriddenBy ? ` (overridden by ${s.overriddenBy})` : ""}`
  );
  const store = env.DENO_TLS_CA_STORE;
  read.push(store ? `DENO_TLS_CA_STORE=${store}` : "DENO_TLS_CA_STORE (not set: mozilla)");
  const first = settings[0]?.name ?? "DENO_CERT";
  return `CA settings read: ${read.join(", ")}; to trust a private CA, set ${first}=/path/ca.pem ` +
    "(a PEM file), or DENO_TLS_CA_STORE=system if the system trusts it";
}

/**
 * `err` told with what to do about it when it is a certificate that no trusted CA vouches for
 * (an Error with the same code and the hint added); any other error as it is.
 */
export function withCaHint(err: unknown, hint: () => string): unknown {
  const code = String((err as { code?: unknown })?.code ?? "");
  const message = err instanceof Error ? err.message : String(err);
  if (!UNKNOWN_ISSUER.has(code) && !/UnknownIssuer|unable to (verify|get)/i.test(message)) {
    return err;
  }
  return Object.assign(new Error(`${message} (${code || "TLS"}); ${hint()}`, { cause: err }), {
    code,
  });
}
