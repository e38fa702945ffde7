#!/usr/bin/env node
// jco-run: runs a WASI preview 3 command component on Node.js: jco transpiles
// it to JavaScript, and the @bytecodealliance preview2/preview3 shims provide
// WASI. It takes the options that the official wasi-testsuite adapter
// (adapters/jco.py) passes, so the argv of both is the same:
//
//   node jco-run.mjs [--jco-workspace DIR] --component FILE --test-name NAME
//                    --args JSON_LIST --env JSON_OBJECT --preopens JSON_LIST
//   node jco-run.mjs [--jco-workspace DIR] --version     prints jco's version
//
// --preopens is a list of {"guest": "/", "host": "DIR"} objects. DIR of
// --jco-workspace (else the JCO_WORKSPACE variable, else the working
// directory and its parents) holds node_modules/@bytecodealliance/jco,
// preview2-shim and preview3-shim (npm install @bytecodealliance/jco).
//
// The guest's exit code is this process's; a trap prints "jco-run: ..." on
// stderr and exits with 1; a bad command line, a missing jco, or a component
// that cannot be transpiled, loaded or instantiated prints "jco-run: ..." and
// exits with 2 (adapters/jco.toml's runtime_errors: the component never ran). With DEBUG set, the
// transpiled files are kept (their directory is printed on stderr).
//
// jco's output for preview 3 needs JavaScript Promise Integration
// (WebAssembly.promising): Node.js 22 and newer with --experimental-wasm-jspi
// (jco.toml passes it), or a Node.js that ships it. On an older Node.js the
// component is transpiled without it, which runs only components that never
// suspend, and most preview 3 components fail.
//
// Part of wasi-conform (adapters/jco.toml); written for Node.js >= 20.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";

const SCOPE = "@bytecodealliance";
const RUN_EXPORT = "wasi:cli/run@0.3.0";

function fail(message, code = 1) {
  process.stderr.write(`jco-run: ${message}\n`);
  process.exit(code);
}

function parseOptions(argv) {
  const known = new Set([
    "jco-workspace",
    "jco",
    "component",
    "test-name",
    "args",
    "env",
    "preopens",
  ]);
  const options = { version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--version") {
      options.version = true;
      continue;
    }
    const name = arg.startsWith("--") ? arg.slice(2) : "";
    if (!known.has(name)) {
      fail(`unknown argument ${JSON.stringify(arg)}`, 2);
    }
    if (i + 1 >= argv.length) {
      fail(`${arg} needs a value`, 2);
    }
    options[name] = argv[++i];
  }
  return options;
}

function jsonOption(options, name, check) {
  const text = options[name];
  if (text === undefined) {
    fail(`missing --${name}`, 2);
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(`--${name} is not JSON: ${err.message}`, 2);
  }
  if (!check(value)) {
    fail(`--${name} has the wrong shape: ${text}`, 2);
  }
  return value;
}

// The directory whose node_modules holds jco and the shims.
function findWorkspace(options) {
  const has = (dir) => existsSync(join(dir, "node_modules", SCOPE, "jco", "package.json"));
  const given = options["jco-workspace"] ?? process.env.JCO_WORKSPACE;
  if (given) {
    if (!has(given)) {
      fail(`${given} has no node_modules/${SCOPE}/jco: run \`npm install ${SCOPE}/jco\` there`, 2);
    }
    return resolve(given);
  }
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (has(dir)) {
      return dir;
    }
    if (dirname(dir) === dir) {
      break;
    }
  }
  fail(
    `cannot find ${SCOPE}/jco: set JCO_WORKSPACE (or --jco-workspace) to a directory ` +
      `where \`npm install ${SCOPE}/jco\` was run`,
    2,
  );
}

function packageDir(workspace, name) {
  return join(workspace, "node_modules", SCOPE, name);
}

async function transpileComponent(workspace, bytes, name, outDir, jspi) {
  const api = join(packageDir(workspace, "jco"), "dist", "api.js");
  const { transpile } = await import(pathToFileURL(api));
  const options = {
    name,
    outDir,
    instantiation: "async",
    wasiShim: true,
    tlaCompat: true,
    base64Cutoff: 0,
    noTypescript: true,
    optimize: false,
    minify: !process.env.DEBUG,
    strict: true,
    validLiftingOptimization: true,
  };
  if (jspi) {
    Object.assign(options, { asyncMode: "jspi", asyncExports: ["wasi:cli/run#run"] });
  }
  const { files } = await transpile(bytes, options);
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, contents);
  }
  await writeFile(join(outDir, "package.json"), JSON.stringify({ type: "module" }));
  // The generated code imports the shims by package name.
  const scope = join(outDir, "node_modules", SCOPE);
  await mkdir(scope, { recursive: true });
  for (const shim of ["preview2-shim", "preview3-shim"]) {
    await symlink(packageDir(workspace, shim), join(scope, shim), "dir");
  }
}

// The WASI imports, wired to the shims: preview 3 where it exists, preview 2
// for the 0.2 interfaces that preview 3 components still import.
async function wasiImports(outDir, args, env, preopens) {
  // Import through the output directory, so that the shim instances are the
  // ones the generated code uses too.
  const require = createRequire(join(outDir, "package.json"));
  const load = (spec) => import(pathToFileURL(require.resolve(spec)));
  const p2 = {
    cli: await load(`${SCOPE}/preview2-shim/cli`),
    io: await load(`${SCOPE}/preview2-shim/io`),
    fs: await load(`${SCOPE}/preview2-shim/filesystem`),
  };
  const p3 = {
    cli: await load(`${SCOPE}/preview3-shim/cli`),
    clocks: await load(`${SCOPE}/preview3-shim/clocks`),
    fs: await load(`${SCOPE}/preview3-shim/filesystem`),
    http: await load(`${SCOPE}/preview3-shim/http`),
    random: await load(`${SCOPE}/preview3-shim/random`),
    sockets: await load(`${SCOPE}/preview3-shim/sockets`),
    stream: await load(`${SCOPE}/preview3-shim/stream`),
    future: await load(`${SCOPE}/preview3-shim/future`),
  };

  for (const cli of [p2.cli, p3.cli]) {
    cli._setArgs(args);
    cli._setEnv(env);
    cli._setCwd(null);
    // Tests run with pipes, never a terminal.
    cli._setTerminalStdin(null);
    cli._setTerminalStdout(null);
    cli._setTerminalStderr(null);
  }
  const mounts = Object.fromEntries(preopens.map(({ guest, host }) => [guest, host]));
  p2.fs._setPreopens(mounts);
  p3.fs._setPreopens(mounts);

  // stdin as a preview 3 stream over this process's stdin.
  const stdin = {
    ...p2.cli.stdin,
    ...p3.cli.stdin,
    readViaStream() {
      const { tx, rx } = p3.future.future();
      tx.write({ tag: "ok", val: undefined }).catch(() => {});
      return [new p3.stream.StreamReader(Readable.toWeb(process.stdin)), rx];
    },
  };

  return {
    "wasi:cli/environment": p3.cli.environment,
    "wasi:cli/exit": p3.cli.exit,
    "wasi:cli/stdin": stdin,
    "wasi:cli/stdout": { ...p2.cli.stdout, ...p3.cli.stdout },
    "wasi:cli/stderr": { ...p2.cli.stderr, ...p3.cli.stderr },
    "wasi:cli/terminal-input": p2.cli.terminalInput,
    "wasi:cli/terminal-output": p2.cli.terminalOutput,
    "wasi:cli/terminal-stdin": p2.cli.terminalStdin,
    "wasi:cli/terminal-stdout": p2.cli.terminalStdout,
    "wasi:cli/terminal-stderr": p2.cli.terminalStderr,
    "wasi:clocks/monotonic-clock": p3.clocks.monotonicClock,
    "wasi:clocks/system-clock": p3.clocks.systemClock,
    "wasi:filesystem/preopens": p3.fs.preopens,
    "wasi:filesystem/types": p3.fs.types,
    "wasi:http/outgoing-handler": p3.http.client,
    "wasi:http/types": p3.http.types,
    "wasi:io/error": p2.io.error,
    "wasi:io/poll": p2.io.poll,
    "wasi:io/streams": p2.io.streams,
    "wasi:random/random": p3.random.random,
    "wasi:random/insecure": p3.random.insecure,
    "wasi:random/insecure-seed": p3.random.insecureSeed,
    "wasi:sockets/ip-name-lookup": p3.sockets.ipNameLookup,
    "wasi:sockets/types": p3.sockets.types,
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const workspace = findWorkspace(options);
  if (options.version) {
    const manifest = JSON.parse(await readFile(join(packageDir(workspace, "jco"), "package.json"), "utf8"));
    process.stdout.write(`${manifest.version}\n`);
    return;
  }

  const component = options.component;
  if (!component) {
    fail("missing --component", 2);
  }
  const testName = options["test-name"] ?? basename(component);
  const args = jsonOption(options, "args", (v) => Array.isArray(v) && v.every((a) => typeof a === "string"));
  const env = jsonOption(options, "env", (v) => v !== null && typeof v === "object" && !Array.isArray(v));
  const preopens = jsonOption(
    options,
    "preopens",
    (v) => Array.isArray(v) && v.every((p) => p && typeof p.guest === "string" && typeof p.host === "string"),
  );
  const jspi = typeof WebAssembly.promising === "function";

  const name = basename(component, ".wasm");
  const workDir = await mkdtemp(join(tmpdir(), "jco-run-"));
  const outDir = join(workDir, name);
  let exitCode = 1;
  // Until the component's run function is called, a failure means the
  // component was never run: exit 2 (adapters/jco.toml's runtime_errors).
  let loaded = false;
  try {
    await transpileComponent(workspace, await readFile(component), name, outDir, jspi);
    const imports = await wasiImports(outDir, [testName, ...args], env, preopens);
    if (process.env.DEBUG) {
      process.env.JCO_DEBUG = "true";
    }
    const generated = await import(pathToFileURL(join(outDir, `${name}.js`)));
    const instance =
      typeof generated.instantiate === "function" ? await generated.instantiate(undefined, imports) : generated;
    if (instance.$init) {
      await instance.$init;
    }
    const run = instance[RUN_EXPORT] ?? instance.run;
    if (!run || typeof run.run !== "function") {
      throw new Error(`the component exports no ${RUN_EXPORT} run function: is it a command?`);
    }
    loaded = true;
    const result = await run.run();
    if (result !== undefined) {
      throw new Error(`run returned ${JSON.stringify(result)}`);
    }
    exitCode = 0;
  } catch (err) {
    const hint = jspi
      ? ""
      : "\n(this Node.js has no WebAssembly.promising: use Node.js 22 or newer with --experimental-wasm-jspi)";
    const what = loaded ? "" : "cannot load the component: ";
    process.stderr.write(`jco-run: ${what}${err && err.stack ? err.stack : err}${hint}\n`);
    if (!loaded) {
      exitCode = 2;
    }
  } finally {
    if (process.env.DEBUG) {
      process.stderr.write(`jco-run: kept ${outDir}\n`);
    } else {
      await rm(workDir, { recursive: true, force: true });
    }
  }
  process.exit(exitCode);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err), 2));
