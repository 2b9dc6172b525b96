/**
 * The network settings of a transport, in one place: which proxy a request goes through and
 * which CAs https trusts. `ENVIRONMENT` takes them from the process environment (the proxy
 * variables, see proxy.ts; the CA settings every https target reads, see cas.ts). A backend with
 * CA settings of its own (S3's `AWS_CA_BUNDLE` or a profile's `ca_bundle`) makes its own
 * `networkSettings`.
 */
import { type CaSetting, environmentCaSettings, loadCas, untrustedHint } from "./cas.ts";
import { type Proxy, proxyFor } from "./proxy.ts";

/** Where requests go and whom they trust. */
export interface NetworkSettings {
  /**
   * The proxy for a request to `url`, or null for a direct connection; a BackendError for a
   * proxy setting that cannot be used.
   */
  proxyFor(url: URL): Proxy | null;
  /** The CAs (PEM) that https trusts; a BackendError for a CA file that cannot be used. */
  trustedCas(): string[];
  /** What to do about a certificate that no trusted CA vouches for: the settings read, the fix. */
  untrustedHint(): string;
}

/**
 * The settings of the process environment, with `cas` (a backend's own CA settings) first: they
 * are the ones a message suggests. The certificates are read once, on first use.
 */
export function networkSettings(cas: readonly CaSetting[] = []): NetworkSettings {
  let read: { env: Record<string, string>; settings: CaSetting[] } | undefined;
  const current = () => {
    if (read) return read;
    const env = Deno.env.toObject();
    return read = { env, settings: [...cas, ...environmentCaSettings(env)] };
  };
  let loaded: string[] | undefined;
  return {
    proxyFor,
    trustedCas: () => loaded ??= loadCas(current().settings, current().env),
    untrustedHint: () => untrustedHint(current().settings, current().env),
  };
}

/** The settings of the process environment alone. */
export const ENVIRONMENT: NetworkSettings = networkSettings();
