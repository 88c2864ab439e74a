#!/usr/bin/env node
// Runs tap, streams its output, and ends with the plain line CI reads: "tests: N passed, N failed, N skipped".
// tap's exit code stays the verdict (a coverage shortfall fails the run even when every test passed).
import { spawn } from 'node:child_process';

const args = ['tap', '-R', 'tap', ...process.argv.slice(2)];
const child = spawn('npx', ['--no-install', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-20000);
});
child.on('close', (code, signal) => {
  // The last top-level summary comment: "# { total: 12, pass: 10, fail: 1, skip: 1 }"
  const sums = [...tail.matchAll(/^# \{ (total: \d+[^}]*)\}$/gm)];
  const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
  const last = sums.at(-1);
  if (last) for (const [, k, v] of last[1].matchAll(/(\w+): (\d+)/g)) counts[k] = Number(v);
  const failed = counts.fail + (code !== 0 && counts.fail === 0 ? 1 : 0);
  if (!last) console.log('# no tap summary found: counting the run as one failure');
  else if (code !== 0 && counts.fail === 0) console.log(`# tap exited ${signal ?? code} with no failed test (coverage below the thresholds, or a file crashed): counted as one failure`);
  console.log(`tests: ${counts.pass} passed, ${failed} failed, ${counts.skip + counts.todo} skipped`);
  process.exit(code ?? 1);
});
