#!/usr/bin/env node
// The CLI entry: runs the compiled harness (npm ci and npm test build dist/ with tsc).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'harness', 'cli.js');
if (!existsSync(cli)) {
  console.error('ERROR: dkc is not built yet (dist/harness/cli.js is missing). Run: npm run build');
  process.exit(2);
}
const { main } = await import(cli);
process.exitCode = await main(process.argv);
