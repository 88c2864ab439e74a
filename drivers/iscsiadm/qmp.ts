/**
 * One QMP command to a running qemu-storage-daemon over its monitor socket (newline-delimited JSON: greeting,
 * qmp_capabilities, the command; events in between are skipped).
 */
import { createConnection } from 'node:net';
import { HarnessError } from '../../lib/errors.js';

export function qmp(socketPath: string, execute: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let stage = 0; // 0 greeting, 1 capabilities sent, 2 command sent
    const fail = (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new HarnessError('TIMEOUT', `QMP ${execute} on ${socketPath}: no answer in ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => fail(new HarnessError('COMMAND_FAILED', `QMP ${execute} on ${socketPath}: ${e.message}`, { cause: e })));
    sock.on('close', () => fail(new HarnessError('COMMAND_FAILED', `QMP ${execute} on ${socketPath}: connection closed`)));
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let m: { QMP?: unknown; event?: unknown; return?: unknown; error?: { class?: string; desc?: string } };
        try {
          m = JSON.parse(line);
        } catch {
          return fail(new HarnessError('COMMAND_FAILED', `QMP ${execute} on ${socketPath}: not JSON: ${line.slice(0, 200)}`));
        }
        if (m.event) continue;
        if (m.error) return fail(new HarnessError('COMMAND_FAILED', `QMP ${execute}: ${m.error.class ?? 'Error'}: ${m.error.desc ?? ''}`));
        if (stage === 0 && m.QMP) {
          sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
          stage = 1;
        } else if (stage === 1 && 'return' in m) {
          sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
          stage = 2;
        } else if (stage === 2 && 'return' in m) {
          clearTimeout(timer);
          sock.removeAllListeners('close');
          sock.end();
          resolve(m.return);
        }
      }
    });
  });
}
