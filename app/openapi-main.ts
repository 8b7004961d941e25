import { writeFile } from "node:fs/promises";
import { openApiDocument } from "./openapi-document.ts";

// `npm run openapi`: writes docs/openapi.json, the document agent authors generate clients from.
// A test regenerates it and fails when the committed file drifts from the contract.
const path = new URL("../docs/openapi.json", import.meta.url);
await writeFile(path, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
console.log(`wrote ${path.pathname}`);
