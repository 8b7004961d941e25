#!/usr/bin/env node
// The `overseer` command (package.json "bin"). The repository runs TypeScript through tsx, so this
// launcher registers tsx's loader and then imports the TypeScript entry point.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
await main();
