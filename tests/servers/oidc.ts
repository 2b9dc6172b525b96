/**
 * Web identity for the S3 tests, all real: an OpenID Connect issuer of the test's own (a Deno
 * server on 127.0.0.1 publishing its signing certificate, the way Keycloak does, which is where
 * radosgw looks for it) that signs JWTs with RS256, and its registration in radosgw's STS: an
 * OpenID Connect provider (IAM CreateOpenIDConnectProvider, signed by curl) trusting its
 * certificate, and a role that tokens of it may assume (AssumeRoleWithWebIdentity).
 */
import type { Gateway, S3Server } from "./ceph.ts";
import { freePort } from "./tinyproxy.ts";

/** A running issuer. */
export interface OidcIssuer extends AsyncDisposable {
  /** The issuer URL (`iss` of its tokens). */
  issuer: string;
  /** SHA-1 thumbprint of its signing certificate (hex). */
  thumbprint: string;
  /** A signed token for `audience`, valid for ten minutes. */
  token(audience: string, subject?: string): Promise<string>;
}

const text = (s: string) => new TextEncoder().encode(s);
const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const pemBody = (pem: string) => pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");

async function run(cmd: string, args: string[], input?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(text(input));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args[0]} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** Starts an issuer on a free port of 127.0.0.1, with a new RSA key and certificate. */
export async function startOidcIssuer(): Promise<OidcIssuer> {
  const dir = await Deno.makeTempDir({ prefix: "isar-sstate-oidc-" });
  await run("openssl", [
    ..."req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=oidc".split(" "),
    ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
  ]);
  const certPem = await Deno.readTextFile(`${dir}/cert.pem`);
  const keyDer = Uint8Array.from(
    atob(pemBody(await Deno.readTextFile(`${dir}/key.pem`))),
    (c) => c.charCodeAt(0),
  );
  await Deno.remove(dir, { recursive: true });
  const fingerprint = await run("openssl", ["x509", "-noout", "-fingerprint", "-sha1"], certPem);
  const thumbprint = fingerprint.trim().replace(/^.*=/, "").replace(/:/g, "");
  const key = await crypto.subtle.importKey(
    "pkcs8",
    keyDer,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const port = freePort();
  const issuer = `http://127.0.0.1:${port}/realms/ci`;
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/realms/ci/.well-known/openid-configuration") {
      return Response.json({ issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs` });
    }
    if (path === "/realms/ci/protocol/openid-connect/certs") {
      const jwk = { kty: "RSA", kid: "k1", use: "sig", alg: "RS256", x5c: [pemBody(certPem)] };
      return Response.json({ keys: [jwk] });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    issuer,
    thumbprint,
    async token(audience, subject = "ci-job") {
      const now = Math.floor(Date.now() / 1000);
      const head = base64url(text(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "k1" })));
      const claims = { iss: issuer, aud: audience, sub: subject, iat: now, exp: now + 600 };
      const body = base64url(text(JSON.stringify(claims)));
      const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, text(`${head}.${body}`));
      return `${head}.${body}.${base64url(new Uint8Array(signature))}`;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Runs radosgw-admin on the cluster of `s`; its JSON output. */
function radosgwAdmin(s: S3Server, args: string[]): Promise<string> {
  return run("timeout", ["60", "radosgw-admin", "-c", `${s.state}/ceph/ceph.conf`, ...args]);
}

/**
 * Makes tokens of `issuer` for `audience` good for a role at the STS of `gateway` (started with
 * STS on, see STS_ARGS): the role may do anything in S3. Returns the role's ARN.
 */
export async function registerWebIdentity(
  s: S3Server,
  gateway: Gateway,
  issuer: OidcIssuer,
  audience: string,
): Promise<string> {
  const id = crypto.randomUUID().slice(0, 8);
  // An administrator of OpenID Connect providers, who registers this one over the IAM API.
  const admin = { uid: `oidc-admin-${id}`, key: `OIDCADMIN${id}`.toUpperCase(), secret: `s-${id}` };
  await radosgwAdmin(s, [
    ..."user create --display-name=oidc-admin".split(" "),
    `--uid=${admin.uid}`,
    `--access-key=${admin.key}`,
    `--secret-key=${admin.secret}`,
  ]);
  await radosgwAdmin(s, ["caps", "add", `--uid=${admin.uid}`, "--caps=oidc-provider=*"]);
  const form = new URLSearchParams({
    Action: "CreateOpenIDConnectProvider",
    Url: issuer.issuer,
    "ClientIDList.member.1": audience,
    "ThumbprintList.member.1": issuer.thumbprint,
  }).toString();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text(form)));
  const hash = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  const answer = await run("curl", [
    ..."-sS --max-time 30 -X POST --aws-sigv4 aws:amz:us-east-1:iam".split(" "),
    ...["--user", `${admin.key}:${admin.secret}`, "-H", `x-amz-content-sha256: ${hash}`],
    ...["-H", "Content-Type: application/x-www-form-urlencoded", "--data", form],
    `${gateway.endpoint}/`,
  ]);
  if (!answer.includes("<OpenIDConnectProviderArn>")) {
    throw new Error(`CreateOpenIDConnectProvider failed: ${answer}`);
  }
  const provider = issuer.issuer.replace(/^https?:\/\//, "");
  const role = `ci-${id}`;
  const trust = {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { Federated: [`arn:aws:iam:::oidc-provider/${provider}`] },
      Action: ["sts:AssumeRoleWithWebIdentity"],
      Condition: { StringEquals: { [`${provider}:app_id`]: audience } },
    }],
  };
  await radosgwAdmin(s, [
    ..."role create --path=/".split(" "),
    `--role-name=${role}`,
    `--assume-role-policy-doc=${JSON.stringify(trust)}`,
  ]);
  const policy = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::*"] }],
  };
  await radosgwAdmin(s, [
    ..."role-policy put --policy-name=s3".split(" "),
    `--role-name=${role}`,
    `--policy-doc=${JSON.stringify(policy)}`,
  ]);
  return `arn:aws:iam:::role/${role}`;
}

/** The radosgw options of a gateway that serves STS (AssumeRoleWithWebIdentity). */
export const STS_ARGS = ["--rgw-s3-auth-use-sts=true", "--rgw-sts-key=isarsstatestskey"];
