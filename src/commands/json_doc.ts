/**
 * The JSON documents the tool prints (`--json`): every one carries `"version": 1`, the version of
 * the shapes described in docs/json.md, so that a consumer can tell when they change.
 */

/** The version of the JSON shapes in docs/json.md. */
export const JSON_VERSION = 1;

/** A JSON document: `fields` after the version. */
export function jsonDocument(fields: Record<string, unknown>): Record<string, unknown> {
  return { version: JSON_VERSION, ...fields };
}
