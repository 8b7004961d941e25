import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, resolve } from "node:path";
// dockerfile-ast is the parser dockerfile-utils itself uses (its dependency, pinned by the lockfile):
// the lint and these checks read the Dockerfile the same way.
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { ValidationSeverity, type ValidatorSettings, validate } from "dockerfile-utils";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// No Docker engine runs where Overseer is built, so the image is never built here. What can be
// checked without one is checked: the Dockerfile lint (rcjsuen's validator, the one behind VS Code's
// Docker language server, which reports what `docker build` would reject: unknown instructions and
// flags, bad durations, signals and ports, malformed JSON forms...), and, by parsing the file, that
// what it copies exists, that it runs the compiled daemon, and the choices docs/container.md makes.

const root = resolve(import.meta.dirname, "../..");
const text = readFileSync(join(root, "Dockerfile"), "utf8");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  license: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

/** tsconfig.build.json (it has comments, so TypeScript's own reader). */
const buildConfig = (() => {
  const file = join(root, "tsconfig.build.json");
  const read = ts.readConfigFile(file, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  return read.config as {
    extends: string;
    include: string[];
    compilerOptions: { outDir: string; rootDir: string };
  };
})();
const outDir = posix.normalize(buildConfig.compilerOptions.outDir);
/** Where `npm run build` puts a source file: outDir mirrors rootDir, .ts becomes .js. */
const compiled = (source: string) =>
  posix.join(outDir, posix.relative(buildConfig.compilerOptions.rootDir, source).replace(/\.ts$/, ".js"));

interface Stage {
  name: string | null;
  base: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages in order, each with the instructions after its FROM. */
const stages: Stage[] = [];
for (const instruction of DockerfileParser.parse(text).getInstructions()) {
  if (instruction.getKeyword() === "FROM") {
    const from = instruction as unknown as { getImage(): string | null; getBuildStage(): string | null };
    stages.push({ name: from.getBuildStage(), base: from.getImage() ?? "", instructions: [] });
  } else stages.at(-1)?.instructions.push(instruction);
}
const final = stages.at(-1) as Stage;
const stageNamed = (name: string) => stages.find((s) => s.name === name);
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const flag = (i: Instruction, name: string) =>
  (i as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> })
    .getFlags()
    .find((f) => f.getName() === name)
    ?.getValue() ?? undefined;
/** An exec-form (JSON) instruction's strings; undefined for the shell form. */
const jsonForm = (i: Instruction | undefined): string[] | undefined => {
  const raw = i?.getRawArgumentsContent()?.trim();
  return raw?.startsWith("[") ? (JSON.parse(raw) as string[]) : undefined;
};

/** The stage's working directory when `i` runs (WORKDIRs before it, "/" when none). */
function workdirAt(stage: Stage, i: Instruction): string {
  let dir = "/";
  for (const w of of(stage, "WORKDIR")) {
    if (w.getRange().start.line > i.getRange().start.line) break;
    dir = posix.resolve(dir, args(w)[0] as string);
  }
  return dir;
}

/** COPY instructions as (sources, absolute destination, --from stage). */
function copies(stage: Stage) {
  return of(stage, "COPY").map((i) => {
    const a = args(i);
    const dest = a.at(-1) as string;
    return {
      i,
      sources: a.slice(0, -1),
      dest: posix.resolve(workdirAt(stage, i), dest),
      from: flag(i, "from"),
    };
  });
}

/**
 * Paths a stage produces: COPY destinations, node_modules where `npm ci` runs, and the build's
 * outDir where `npm run build` runs. A `COPY --from` must take one of these (or something under one).
 */
function produced(stage: Stage): string[] {
  const paths = copies(stage).map((c) => c.dest);
  for (const run of of(stage, "RUN")) {
    const cmd = run.getRawArgumentsContent() ?? "";
    const dir = workdirAt(stage, run);
    if (/\bnpm ci\b/.test(cmd)) paths.push(posix.join(dir, "node_modules"));
    if (/\bnpm run build\b/.test(cmd)) paths.push(posix.join(dir, outDir));
  }
  return paths;
}
const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/$/, "")}/`);

/** .dockerignore rules (moby's patternmatcher: `*`, `?`, `**`, `!` exceptions, the last match wins). */
const ignoreRules = readFileSync(join(root, ".dockerignore"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"))
  .map((line) => {
    const negate = line.startsWith("!");
    const pattern = posix.normalize(negate ? line.slice(1) : line).replace(/^\/+/, "");
    let re = "";
    for (let k = 0; k < pattern.length; k++) {
      const c = pattern[k] as string;
      if (c === "*" && pattern[k + 1] === "*") {
        k++;
        if (pattern[k + 1] === "/") {
          k++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else if (c === "*") re += "[^/]*";
      else if (c === "?") re += "[^/]";
      else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    return { line, negate, re: new RegExp(`^${re}$`) };
  });
/** The rule that keeps `path` out of the build context, or undefined when it is sent. */
function ignoredBy(path: string): string | undefined {
  const parts = path.split("/");
  let by: string | undefined;
  for (const rule of ignoreRules) {
    // A pattern matching a folder excludes everything under it.
    if (parts.some((_, k) => rule.re.test(parts.slice(0, k + 1).join("/"))))
      by = rule.negate ? undefined : rule.line;
  }
  return by;
}
const filesUnder = (path: string): string[] =>
  statSync(join(root, path)).isDirectory()
    ? (readdirSync(join(root, path), { recursive: true }) as string[])
        .map((f) => posix.join(path, f))
        .filter((f) => statSync(join(root, f)).isFile())
    : [path];

describe("Dockerfile", () => {
  it("passes the Dockerfile lint with every rule at error severity", () => {
    // Every configurable rule as an error (casing, relative WORKDIR, repeated CMD/ENTRYPOINT/
    // HEALTHCHECK in a stage, JSON in single quotes...): the ones Docker only warns about included.
    const all: ValidatorSettings = {
      deprecatedMaintainer: ValidationSeverity.ERROR,
      directiveCasing: ValidationSeverity.ERROR,
      emptyContinuationLine: ValidationSeverity.ERROR,
      instructionCasing: ValidationSeverity.ERROR,
      instructionCmdMultiple: ValidationSeverity.ERROR,
      instructionEntrypointMultiple: ValidationSeverity.ERROR,
      instructionHealthcheckMultiple: ValidationSeverity.ERROR,
      instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
      instructionWorkdirRelative: ValidationSeverity.ERROR,
    };
    const problems = validate(text, all).map((d) => `Dockerfile:${d.range.start.line + 1}: ${d.message}`);
    expect(problems.join("\n")).toBe("");
  });

  it("copies from the build context only paths that exist, and none that .dockerignore leaves out", () => {
    // A COPY of a missing path fails `docker build`; so does one the .dockerignore excludes (the
    // file is not in the context even though it is in the repository). Explicit paths, no globs:
    // a glob that matches nothing is not an error in every builder.
    const sources = stages
      .flatMap((s) => copies(s).filter((c) => c.from === undefined))
      .flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(0);
    expect(of(final, "ADD").length + stages.flatMap((s) => of(s, "ADD")).length, "ADD (use COPY)").toBe(0);
    for (const source of sources) {
      expect(source, "a relative path in the repository").not.toMatch(/^\/|(^|\/)\.\.(\/|$)|[*?[]/);
      expect(existsSync(join(root, source)), `COPY ${source}: not in the repository`).toBe(true);
      for (const file of filesUnder(source))
        expect(ignoredBy(file), `COPY ${source}: .dockerignore excludes ${file}`).toBeUndefined();
    }
  });

  it("copies between stages only what an earlier stage produces", () => {
    for (const [n, stage] of stages.entries()) {
      for (const c of copies(stage).filter((x) => x.from !== undefined)) {
        const from = stageNamed(c.from as string);
        expect(from, `COPY --from=${c.from}: no such stage`).toBeDefined();
        expect(stages.indexOf(from as Stage), `COPY --from=${c.from}: a later stage`).toBeLessThan(n);
        const made = produced(from as Stage);
        for (const source of c.sources)
          expect(
            made.some((p) => within(posix.resolve("/", source), p)),
            `COPY --from=${c.from} ${source}: ${c.from} makes only ${made.join(", ")}`,
          ).toBe(true);
      }
    }
  });

  it("the build stage has everything `npm run build` compiles and reads", () => {
    // tsconfig.build.json's folders, the config it extends, the lockfile `npm ci` installs from, and
    // the build script the package's "build" names. A folder added to the build and not here would
    // fail in the image only.
    const build = stages.find((s) =>
      produced(s).includes(posix.join(workdirAt(s, s.instructions.at(-1) as Instruction), outDir)),
    );
    expect(build, "a stage that runs `npm run build`").toBeDefined();
    const copied = copies(build as Stage)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources.map((s) => posix.normalize(s)));
    const script = /\btools\/[\w./-]+\.ts\b/.exec(pkg.scripts.build ?? "")?.[0];
    const needed = [
      ...buildConfig.include,
      posix.normalize(buildConfig.extends),
      "tsconfig.build.json",
      "package.json",
      "package-lock.json",
      script,
    ];
    for (const path of needed) expect(copied, `the build stage copies ${path}`).toContain(path);
  });

  it("runs the compiled daemon, what `npm start` runs, under tini as PID 1", () => {
    // Exec forms only: a shell form would make /bin/sh PID 1, which does not pass SIGTERM on, so
    // the daemon would never drain and Docker would SIGKILL it after the grace period.
    const entrypoint = jsonForm(of(final, "ENTRYPOINT").at(-1));
    expect(entrypoint?.[0], "ENTRYPOINT in exec form").toMatch(/(^|\/)tini$/);
    expect(entrypoint?.slice(1)).toEqual(["--"]);
    expect(
      of(final, "RUN").some((r) => /apt-get install[^&]*\btini\b/.test(r.getRawArgumentsContent() ?? "")),
      "tini installed in the final stage",
    ).toBe(true);
    const cmdInstruction = of(final, "CMD").at(-1) as Instruction;
    const cmd = jsonForm(cmdInstruction);
    expect(cmd, "CMD in exec form").toBeDefined();
    // The same command line as package.json's "start" (without the shell's exec).
    expect((cmd as string[]).join(" ")).toBe((pkg.scripts.start ?? "").replace(/^exec /, ""));
    // Its script, followed through the COPY that put it in the image, is what the build makes of
    // app/main.ts in the build stage (outDir from tsconfig.build.json, not written out twice).
    const script = (cmd as string[]).slice(1).find((a) => !a.startsWith("-")) as string;
    const inImage = posix.resolve(workdirAt(final, cmdInstruction), script);
    const copy = copies(final).find((c) => c.from !== undefined && within(inImage, c.dest));
    expect(copy, `a COPY --from that provides ${inImage}`).toBeDefined();
    const { from, sources, dest } = copy as { from: string; sources: string[]; dest: string };
    const fromStage = stageNamed(from) as Stage;
    const inBuild = posix.join(sources[0] as string, posix.relative(dest, inImage));
    const buildDir = posix.resolve(workdirAt(fromStage, fromStage.instructions.at(-1) as Instruction));
    expect(inBuild).toBe(posix.join(buildDir, compiled("app/main.ts")));
  });

  it("installs production dependencies only in what the final image carries", () => {
    // The final image's node_modules comes from a stage whose only install is `npm ci --omit=dev`;
    // from the build stage (which has TypeScript, tsx, vitest) it takes the compiled output only.
    const finalCopies = copies(final);
    const modules = finalCopies.find((c) => c.dest.endsWith("/node_modules"));
    expect(modules?.from, "node_modules copied from a deps stage").toBeDefined();
    const installs = (s: Stage) =>
      of(s, "RUN")
        .map((r) => r.getRawArgumentsContent() ?? "")
        .flatMap((cmd) => cmd.split(/&&|;/).filter((part) => /\bnpm (ci|install|i)\b/.test(part)));
    const depsInstalls = installs(stageNamed(modules?.from as string) as Stage);
    expect(depsInstalls.length).toBeGreaterThan(0);
    for (const install of depsInstalls) expect(install).toMatch(/\bnpm ci\b.*--omit=dev/);
    for (const install of installs(final)) expect(install).toMatch(/--omit=dev/);
    for (const c of finalCopies.filter((x) => x.from !== undefined && x !== modules)) {
      const fromStage = stageNamed(c.from as string) as Stage;
      const buildDir = workdirAt(fromStage, fromStage.instructions.at(-1) as Instruction);
      for (const source of c.sources) expect(within(source, posix.join(buildDir, outDir)), source).toBe(true);
    }
  });

  it("runs as a non-root user", () => {
    const lastUser = of(final, "USER").at(-1);
    // No USER at all runs the container as root.
    expect(lastUser, "a USER instruction in the final stage").toBeDefined();
    if (!lastUser) return;
    const user = args(lastUser)[0] ?? "root";
    expect(user.split(":")[0], "USER in the final stage").not.toMatch(/^(root|0)$/);
    // ...and nothing runs after it that would need root.
    const later = of(final, "RUN").filter((r) => r.getRange().start.line > lastUser.getRange().start.line);
    expect(later).toEqual([]);
  });

  it("checks /healthz with node (no curl in slim images) on the port it serves", () => {
    const healthchecks = of(final, "HEALTHCHECK");
    expect(healthchecks).toHaveLength(1);
    const raw = (healthchecks[0]?.getRawArgumentsContent() ?? "").replace(/\\\n/g, " ");
    const exec = JSON.parse(raw.slice(raw.indexOf("CMD") + 3).trim()) as string[];
    expect(exec[0]).toBe("node");
    expect(exec.join(" ")).toContain("/healthz");
    expect(exec.join(" ")).toContain("process.env.PORT");
    for (const name of ["interval", "timeout", "start-period", "retries"])
      expect(flag(healthchecks[0] as Instruction, name), `--${name}`).toBeDefined();
    // The port the daemon listens on (ENV PORT) is the one exposed; it binds all interfaces.
    const env = Object.fromEntries(
      of(final, "ENV").flatMap((e) =>
        (e as unknown as { getProperties(): Array<{ getName(): string; getValue(): string }> })
          .getProperties()
          .map((p) => [p.getName(), p.getValue()]),
      ),
    );
    expect(env).toMatchObject({ NODE_ENV: "production", HOST: "0.0.0.0", OVERSEER_EMBEDDED: "false" });
    expect(of(final, "EXPOSE").flatMap(args)).toEqual([env.PORT]);
    expect(of(final, "STOPSIGNAL").flatMap(args)).toEqual(["SIGTERM"]);
  });

  it("carries the OCI labels, the version from package.json", () => {
    const labels = Object.fromEntries(
      of(final, "LABEL").flatMap((l) =>
        (l as unknown as { getProperties(): Array<{ getName(): string; getValue(): string }> })
          .getProperties()
          .map((p) => [p.getName(), p.getValue()]),
      ),
    );
    for (const key of ["title", "description", "source", "licenses", "version", "revision"])
      expect(labels, key).toHaveProperty(`org.opencontainers.image.${key}`);
    expect(labels["org.opencontainers.image.licenses"]).toBe(pkg.license);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Docker's ARG substitution, kept as written
    expect(labels["org.opencontainers.image.version"]).toBe("${VERSION}");
    const versionArg = of(final, "ARG")
      .flatMap(args)
      .find((a) => a.startsWith("VERSION="));
    expect(versionArg).toBe(`VERSION=${pkg.version}`);
  });

  it("puts the operator CLI on PATH as a wrapper that runs the package's bin", () => {
    const run = of(final, "RUN").find((r) =>
      (r.getRawArgumentsContent() ?? "").includes("/usr/local/bin/overseer"),
    );
    const target = /exec node (\S+)/.exec(run?.getRawArgumentsContent() ?? "")?.[1];
    const modules = copies(final).find((c) => c.dest.endsWith("/node_modules")) as { dest: string };
    expect(target).toBe(posix.join(posix.dirname(modules.dest), pkg.bin.overseer as string));
    expect(pkg.bin.overseer).toBe(compiled("sdk/cli/main.ts"));
  });

  it("builds every stage on one base image, pinned to the Node major CI runs", () => {
    // The native addon (msgpackr-extract) installed in the deps stage must run in the final one.
    expect(new Set(stages.map((s) => s.base)).size).toBe(1);
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    const nvmrc = readFileSync(join(root, ".nvmrc"), "utf8").trim();
    expect(image).toMatch(new RegExp(`^node:${nvmrc}-[a-z]+-slim$`));
  });
});
