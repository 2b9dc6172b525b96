/**
 * The layering of src/ (scripts/check-layers.ts): imports point down only, no import cycle, the
 * backend folders keep to themselves, and only src/cli/ touches the process and the terminal.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { importGraph, layerViolations } from "../scripts/check-layers.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

Deno.test("layers: imports point down only, no cycle, backend folders import no other", () => {
  assert.ok(importGraph(SRC).size > 50, "the modules of src/ are found");
  assert.deepEqual(layerViolations(SRC), []);
});
