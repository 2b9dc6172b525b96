/**
 * A private CA for TLS tests, made with openssl: a CA certificate and a server certificate it
 * signed for 127.0.0.1 and localhost, in a temporary directory removed when disposed.
 */

/** The files of a private CA and of a server certificate it signed. */
export interface PrivateCa extends AsyncDisposable {
  dir: string;
  /** The CA's certificate (PEM): what clients must trust. */
  ca: string;
  /** The server's certificate and key (PEM). */
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A new CA named `name` and a server certificate for 127.0.0.1 and localhost. */
export async function makePrivateCa(name = "isar-sstate test CA"): Promise<PrivateCa> {
  const dir = await Deno.makeTempDir({ prefix: "isar-sstate-ca-" });
  await openssl([
    ..."req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.pem".split(" "),
    ...["-subj", `/CN=${name}`],
  ], dir);
  await openssl(
    "req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr"
      .split(" "),
    dir,
  );
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
  );
  await openssl(
    ("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 " +
      "-extfile server.ext -out server.pem").split(" "),
    dir,
  );
  // radosgw may run as another user than the tests.
  await Deno.chmod(`${dir}/server.key`, 0o644);
  return {
    dir,
    ca: `${dir}/ca.pem`,
    cert: `${dir}/server.pem`,
    key: `${dir}/server.key`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}
