/**
 * The JSON shapes of docs/json.md, read from the document itself, and a small validator for the
 * JSON Schema keywords they use (type, const, enum, properties, required, additionalProperties,
 * items, pattern, minimum, anyOf, oneOf, $ref into `$defs`, also of another schema of the
 * document as `name#/$defs/x`). A keyword it does not know is an error, so that the document
 * cannot use one the tests would silently ignore.
 */
import { fileURLToPath } from "node:url";

/** A JSON Schema (as far as this validator reads it). */
// deno-lint-ignore no-explicit-any
export type Schema = Record<string, any>;

const DOC = fileURLToPath(new URL("../docs/json.md", import.meta.url));

/** Every schema of docs/json.md by name (`<!-- schema: NAME -->` before a json block). */
export function documentedSchemas(): Map<string, Schema> {
  const text = Deno.readTextFileSync(DOC);
  const schemas = new Map<string, Schema>();
  for (const m of text.matchAll(/<!-- schema: (\S+) -->\s*```json\n([\s\S]*?)\n```/g)) {
    schemas.set(m[1], JSON.parse(m[2]));
  }
  return schemas;
}

const KNOWN = new Set([
  "type",
  "const",
  "enum",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "pattern",
  "minimum",
  "anyOf",
  "oneOf",
  "$ref",
  "$defs",
]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  if (type === "integer") return Number.isInteger(value);
  return typeOf(value) === type;
}

/** The problems of `value` against schema `name` of `schemas` (empty: valid). */
export function validate(schemas: Map<string, Schema>, name: string, value: unknown): string[] {
  const root = schemas.get(name);
  if (!root) throw new Error(`docs/json.md has no schema '${name}'`);
  const resolve = (ref: string, base: Schema): [Schema, Schema] => {
    const [doc, pointer] = ref.split("#");
    const owner = doc === "" ? base : schemas.get(doc);
    if (!owner) throw new Error(`unknown schema in $ref ${ref}`);
    let target: Schema = owner;
    for (const part of pointer.split("/").filter((p) => p !== "")) target = target?.[part];
    if (target === undefined) throw new Error(`$ref ${ref} points nowhere`);
    return [target, owner];
  };
  const check = (schema: Schema, base: Schema, v: unknown, at: string): string[] => {
    const errors: string[] = [];
    for (const key of Object.keys(schema)) {
      if (!KNOWN.has(key)) throw new Error(`unsupported keyword '${key}' at ${at}`);
    }
    if (schema.$ref) {
      const [target, owner] = resolve(schema.$ref, base);
      errors.push(...check(target, owner, v, at));
    }
    if (schema.type !== undefined) {
      const types: string[] = [schema.type].flat();
      if (!types.some((t) => hasType(v, t))) {
        errors.push(`${at}: ${JSON.stringify(v)} is not of type ${types.join("|")}`);
        return errors;
      }
    }
    if ("const" in schema && JSON.stringify(v) !== JSON.stringify(schema.const)) {
      errors.push(`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(schema.const)}`);
    }
    if (schema.enum && !schema.enum.some((e: unknown) => e === v)) {
      errors.push(`${at}: ${JSON.stringify(v)} is none of ${JSON.stringify(schema.enum)}`);
    }
    if (typeof v === "string" && schema.pattern && !new RegExp(schema.pattern, "u").test(v)) {
      errors.push(`${at}: ${JSON.stringify(v)} does not match ${schema.pattern}`);
    }
    if (typeof v === "number" && schema.minimum !== undefined && v < schema.minimum) {
      errors.push(`${at}: ${v} is below ${schema.minimum}`);
    }
    if (typeOf(v) === "object") {
      const obj = v as Record<string, unknown>;
      for (const key of schema.required ?? []) {
        if (!(key in obj)) errors.push(`${at}: '${key}' is missing`);
      }
      for (const [key, item] of Object.entries(obj)) {
        const own = schema.properties?.[key];
        if (own !== undefined) errors.push(...check(own, base, item, `${at}/${key}`));
        else if (schema.additionalProperties === false) {
          errors.push(`${at}: '${key}' is not allowed`);
        } else if (typeof schema.additionalProperties === "object") {
          errors.push(...check(schema.additionalProperties, base, item, `${at}/${key}`));
        }
      }
    }
    if (Array.isArray(v) && schema.items) {
      v.forEach((item, i) => errors.push(...check(schema.items, base, item, `${at}/${i}`)));
    }
    if (schema.anyOf) {
      const results = schema.anyOf.map((s: Schema) => check(s, base, v, at));
      if (!results.some((r: string[]) => r.length === 0)) {
        errors.push(`${at}: matches none of anyOf (${results.flat().join("; ")})`);
      }
    }
    if (schema.oneOf) {
      const results = schema.oneOf.map((s: Schema) => check(s, base, v, at));
      const matched = results.filter((r: string[]) => r.length === 0).length;
      if (matched !== 1) {
        const closest = results.reduce((a: string[], b: string[]) => (b.length < a.length ? b : a));
        errors.push(`${at}: matches ${matched} of oneOf (closest: ${closest.join("; ")})`);
      }
    }
    return errors;
  };
  return check(root, root, value, "");
}

/** Fails unless `value` has the shape of schema `name` of docs/json.md. */
export function assertDocumented(name: string, value: unknown): void {
  const errors = validate(documentedSchemas(), name, value);
  if (errors.length > 0) {
    throw new Error(`not a '${name}' document of docs/json.md:\n${errors.join("\n")}`);
  }
}
