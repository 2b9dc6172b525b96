/**
 * The network settings of a transport, in one place: which proxy a request goes through and
 * which CAs https trusts. `ENVIRONMENT` takes them from the process environment (the proxy
 * variables, see proxy.ts; Deno's and Node's CA settings, see node.ts). Settings from elsewhere
 * (an AWS profile's proxy or CA bundle, say) are another `NetworkSettings` given to the
 * transport.
 */
import { trustedCas } from "./node.ts";
import { type Proxy, proxyFor } from "./proxy.ts";

/** Where requests go and whom they trust. */
export interface NetworkSettings {
  /**
   * The proxy for a request to `url`, or null for a direct connection; a BackendError for a
   * proxy setting that cannot be used.
   */
  proxyFor(url: URL): Proxy | null;
  /** The CAs (PEM) that https trusts; a BackendError for a CA file that cannot be read. */
  trustedCas(): string[];
}

/** The settings of the process environment. */
export const ENVIRONMENT: NetworkSettings = { proxyFor, trustedCas };
