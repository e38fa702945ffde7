#!/usr/bin/env node
// node-wasi: runs a WASI preview 1 core module under Node.js's built-in
// `node:wasi`, with a command line in the style of other WASI runtimes.
//
//   node node-wasi.cjs [--env KEY=VALUE]... [--dir HOST::GUEST]... [--] MODULE [ARG]...
//   node node-wasi.cjs --version        prints "node-wasi <node version>"
//
// The guest sees MODULE's file name as argv[0], then the ARGs; only the
// variables given with --env; only the directories given with --dir. Its
// stdin, stdout and stderr are this process's own (so pipes work), and this
// process exits with the guest's exit code. A trap (or any other failure
// after the module started) prints "node-wasi: ..." on stderr and exits with
// 134, as wasmtime does; a bad command line or a module that cannot be
// loaded or instantiated (an import node:wasi lacks) prints "node-wasi: ..."
// and exits with 2, which adapters/node.toml's runtime_errors name.
//
// Modules that import `wasi_unstable` (preview 0) run with node's
// `unstable` WASI version, all others with `preview1`.
//
// Node documents that node:wasi is not a security sandbox: the guest is
// confined by the preopens only as far as node's implementation goes.
//
// Part of wasi-conform (adapters/node.toml); written for Node.js >= 20.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const USAGE =
  "usage: node-wasi [--env KEY=VALUE]... [--dir HOST::GUEST]... [--] MODULE [ARG]...\n" +
  "       node-wasi --version";

function fail(message, code) {
  process.stderr.write(`node-wasi: ${message}\n`);
  process.exit(code);
}

function parseCommandLine(argv) {
  const env = {};
  const preopens = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "--version") {
      return { version: true };
    }
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (arg === "--env" || arg === "--dir") {
      if (i + 1 >= argv.length) {
        fail(`${arg} needs a value\n${USAGE}`, 2);
      }
      const value = argv[++i];
      if (arg === "--env") {
        const eq = value.indexOf("=");
        if (eq <= 0) {
          fail(`--env ${JSON.stringify(value)}: expected KEY=VALUE`, 2);
        }
        env[value.slice(0, eq)] = value.slice(eq + 1);
      } else {
        const sep = value.indexOf("::");
        if (sep <= 0 || sep + 2 >= value.length) {
          fail(`--dir ${JSON.stringify(value)}: expected HOST::GUEST`, 2);
        }
        preopens[value.slice(sep + 2)] = value.slice(0, sep);
      }
      continue;
    }
    if (arg.startsWith("-")) {
      fail(`unknown option ${JSON.stringify(arg)}\n${USAGE}`, 2);
    }
    break;
  }
  if (i >= argv.length) {
    fail(`no module given\n${USAGE}`, 2);
  }
  return { env, preopens, module: argv[i], args: argv.slice(i + 1) };
}

// Requiring node:wasi emits an ExperimentalWarning on stderr, which would end
// up in the guest's stderr: drop exactly that warning, keep all others.
function silenceWasiWarning() {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const text = typeof warning === "string" ? warning : warning && warning.message;
    const type = typeof rest[0] === "string" ? rest[0] : rest[0] && rest[0].type;
    const name = warning && warning.name;
    if (
      (type === "ExperimentalWarning" || name === "ExperimentalWarning") &&
      typeof text === "string" &&
      text.includes("WASI")
    ) {
      return;
    }
    return emitWarning.call(process, warning, ...rest);
  };
}

function main() {
  const options = parseCommandLine(process.argv.slice(2));
  if (options.version) {
    process.stdout.write(`node-wasi ${process.versions.node}\n`);
    return;
  }

  let module;
  try {
    module = new WebAssembly.Module(fs.readFileSync(options.module));
  } catch (err) {
    fail(`cannot load ${options.module}: ${err && err.message ? err.message : err}`, 2);
  }
  const imports = WebAssembly.Module.imports(module);
  const version = imports.some((i) => i.module === "wasi_unstable") ? "unstable" : "preview1";

  silenceWasiWarning();
  const { WASI } = require("node:wasi");
  const wasi = new WASI({
    version,
    args: [path.basename(options.module), ...options.args],
    env: options.env,
    preopens: options.preopens,
    returnOnExit: true,
  });

  let instance;
  try {
    instance = new WebAssembly.Instance(module, wasi.getImportObject());
  } catch (err) {
    fail(`cannot instantiate ${options.module}: ${err && err.message ? err.message : err}`, 2);
  }
  let code;
  try {
    code = wasi.start(instance);
  } catch (err) {
    fail(`${err && err.stack ? err.stack : err}`, 134);
  }
  process.exit(code);
}

main();
