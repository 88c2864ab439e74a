/**
 * Executable entry of the datera/iscsi FlexVolume driver. kubelet reads stdout and stderr together and decodes them
 * as one JSON object, so this prints exactly one compact JSON line on stdout and nothing on stderr, and exits 0 for
 * Success and Not supported, 1 for Failure.
 */
import { callout, type DriverStatus } from './driver.js';

function emit(status: DriverStatus): void {
  const code = status.status === 'Failure' ? 1 : 0;
  process.stdout.write(JSON.stringify(status) + '\n', () => process.exit(code));
}

// Node prints warnings and crashes on stderr; route both into the one JSON answer instead.
process.removeAllListeners('warning');
process.on('warning', () => undefined);
process.on('uncaughtException', (err) => emit({ status: 'Failure', message: `internal error: ${err.message}` }));
process.on('unhandledRejection', (err) => emit({ status: 'Failure', message: `internal error: ${err instanceof Error ? err.message : String(err)}` }));

callout(process.argv.slice(2), process.env).then(emit, (err: unknown) => emit({ status: 'Failure', message: `internal error: ${err instanceof Error ? err.message : String(err)}` }));
