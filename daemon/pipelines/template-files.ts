import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../config/compile-config.ts";
import type { TemplateDefinition } from "./template-types.ts";
import { validateTemplate } from "./template-validation.ts";

/** Reads `*.json` templates from a directory; any unreadable or invalid file stops start-up (exit 78). */
export async function readTemplateFiles(dir: string): Promise<TemplateDefinition[]> {
  if (!dir) return [];
  const problems: string[] = [];
  const out: TemplateDefinition[] = [];
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (error) {
    throw new ConfigError([`OVERSEER_TEMPLATES_DIR ${dir}: ${(error as Error).message}`]);
  }
  for (const name of names) {
    try {
      const def = JSON.parse(await readFile(join(dir, name), "utf8")) as TemplateDefinition;
      validateTemplate(def);
      out.push(def);
    } catch (error) {
      problems.push(`template file ${join(dir, name)}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
