/**
 * Opens an S3 location the way the command line does (factory, process environment) and tries
 * it: `deno run -A s3_probe.ts URL`. Prints one JSON line: the entries it listed after storing
 * one file, or the error's scope and message.
 */
import { BackendError } from "../../src/backends/backend.ts";
import { openBackend } from "../../src/backends/registry.ts";

const [url] = Deno.args;
const file = await Deno.makeTempFile();
await Deno.writeTextFile(file, "probe");
try {
  const backend = await openBackend(url);
  try {
    const exists = await backend.exists();
    await backend.put("aa/probe", { file, size: 5 }, { ifAbsent: true });
    const paths: string[] = [];
    for await (const batch of backend.list()) paths.push(...batch.map((e) => e.path));
    console.log(JSON.stringify({ exists, paths }));
  } finally {
    await backend.close();
  }
} catch (err) {
  const scope = err instanceof BackendError ? err.scope : "thrown";
  console.log(JSON.stringify({ scope, message: (err as Error).message }));
} finally {
  await Deno.remove(file);
}
