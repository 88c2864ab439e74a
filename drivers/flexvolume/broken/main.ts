/**
 * Executable entry of the broken driver variants: `node main.js <variant> <call-out> [args...]`. Answers like the
 * reference main.ts (one JSON line, exit 1 for Failure), plus whatever the variant prints on stderr.
 */
import { brokenCallout, variantOf, VARIANTS } from './broken.js';
import type { DriverStatus } from '../driver.js';

function emit(status: DriverStatus, stderr = ''): void {
  const code = status.status === 'Failure' ? 1 : 0;
  if (stderr) process.stderr.write(stderr);
  process.stdout.write(JSON.stringify(status) + '\n', () => process.exit(code));
}

process.removeAllListeners('warning');
process.on('warning', () => undefined);
const [name, ...argv] = process.argv.slice(2);
const variant = variantOf(name ?? '');
if (!variant) emit({ status: 'Failure', message: `unknown broken variant '${name ?? ''}'; one of ${VARIANTS.join(', ')}` });
else
  brokenCallout(variant, argv, process.env).then(
    (a) => emit(a.status, a.stderr),
    (err: unknown) => emit({ status: 'Failure', message: `internal error: ${err instanceof Error ? err.message : String(err)}` }),
  );
