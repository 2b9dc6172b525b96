/** Display forms bitbake uses for some signature fields. */

/**
 * Bitbake 1.50's `clean_basepath`: keep the recipe's directory and file name with the task,
 * and move `virtual:...` and `mc:NAME:` prefixes to the end. Ids with fewer than two `/`
 * (which bitbake cannot handle) are returned unchanged.
 */
export function cleanBasepath(id: string): string {
  const parts = id.split("/");
  if (parts.length < 3) return id;
  let base = parts.slice(0, -2).join("/");
  let cleaned = `${parts.at(-2)}/${parts.at(-1)}`;
  if (base === "" || base.startsWith("/")) return cleaned;
  let mcSuffix = "";
  if (base.startsWith("mc:") && base.split(":").length >= 3) {
    const [, mcName, ...rest] = base.split(":");
    mcSuffix = `:mc:${mcName}`;
    base = rest.join(":");
  }
  if (base !== "" && !base.startsWith("/")) cleaned += `:${base.split(":/")[0]}`;
  return cleaned + mcSuffix;
}

/** A taint as bitbake shows it: `nostamp:` taints (random per run) as `nostamp(uuid4):`. */
export function showTaint(taint: string): string {
  return taint.startsWith("nostamp:") ? taint.replaceAll("nostamp:", "nostamp(uuid4):") : taint;
}
