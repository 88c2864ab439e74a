/**
 * Container logs in the CRI format kubelet reads (`<RFC3339Nano> <stream> <P|F> <text>`), written as the
 * container produces them and read back as plain text the way `kubectl logs` shows it.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';

export type LogStream = 'stdout' | 'stderr';

export interface CriLine {
  time: Date;
  /** Nanosecond-precision timestamp text as written. */
  timestamp: string;
  stream: LogStream;
  partial: boolean;
  text: string;
}

/** Longest line kept whole; longer output is split into partial (P) records, as containerd does at 16 KiB. */
export const MAX_LINE = 16 * 1024;

/** RFC3339Nano in UTC; the sub-millisecond digits come from a monotonic counter so records stay ordered. */
export function rfc3339Nano(d: Date, nanosWithinMs = 0): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const ns = String(nanosWithinMs).padStart(6, '0').slice(0, 6);
  return `${iso.slice(0, 23)}${ns}Z`;
}

export function formatCriLine(ts: string, stream: LogStream, partial: boolean, text: string): string {
  return `${ts} ${stream} ${partial ? 'P' : 'F'} ${text}\n`;
}

export function parseCriLine(line: string): CriLine | undefined {
  const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s.exec(line);
  if (!m) return undefined;
  const time = new Date(m[1]!);
  if (Number.isNaN(time.getTime())) return undefined;
  return { time, timestamp: m[1]!, stream: m[2] as LogStream, partial: m[3] === 'P', text: m[4]! };
}

/** Splits a byte stream into CRI records appended to one file (both streams of a container share it). */
export class CriLogWriter {
  private readonly out: WriteStream;
  private readonly pending: Record<LogStream, string> = { stdout: '', stderr: '' };
  private lastMs = 0;
  private seq = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'a' });
  }

  private stamp(): string {
    const now = Date.now();
    if (now === this.lastMs) this.seq++;
    else {
      this.lastMs = now;
      this.seq = 0;
    }
    return rfc3339Nano(new Date(now), this.seq);
  }

  write(stream: LogStream, chunk: Buffer | string): void {
    let buf = this.pending[stream] + chunk.toString();
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl < 0) break;
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      for (; line.length > MAX_LINE; line = line.slice(MAX_LINE)) this.emit(stream, line.slice(0, MAX_LINE), true);
      this.emit(stream, line, false);
    }
    while (buf.length >= MAX_LINE) {
      this.emit(stream, buf.slice(0, MAX_LINE), true);
      buf = buf.slice(MAX_LINE);
    }
    this.pending[stream] = buf;
  }

  private emit(stream: LogStream, text: string, partial: boolean): void {
    this.out.write(formatCriLine(this.stamp(), stream, partial, text));
  }

  /** Flushes unterminated output as a final (F) record and closes the file. */
  async close(): Promise<void> {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.pending[s]) this.emit(s, this.pending[s], false);
      this.pending[s] = '';
    }
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}

export interface LogOptions {
  /** Only the last N lines. */
  tailLines?: number;
  /** Only lines newer than this many seconds. */
  sinceSeconds?: number;
  /** Prefix each line with its RFC3339Nano timestamp, as `kubectl logs --timestamps`. */
  timestamps?: boolean;
  /** Keep reading until the container exits. */
  follow?: boolean;
  /** Read the previous instance's log instead of the current one. */
  previous?: boolean;
}

/** Joins partial records and renders the lines `kubectl logs` would print (each ends in \n). */
export function renderCri(content: string, opts: LogOptions = {}, now = new Date()): string[] {
  const lines: string[] = [];
  let partialText = '';
  let partialTs: string | undefined;
  const since = opts.sinceSeconds !== undefined ? now.getTime() - opts.sinceSeconds * 1000 : undefined;
  for (const raw of content.split('\n')) {
    if (!raw) continue;
    const rec = parseCriLine(raw);
    if (!rec) continue;
    if (rec.partial) {
      partialTs ??= rec.timestamp;
      partialText += rec.text;
      continue;
    }
    const ts = partialTs ?? rec.timestamp;
    const text = partialText + rec.text;
    partialText = '';
    partialTs = undefined;
    if (since !== undefined && new Date(ts).getTime() < since) continue;
    lines.push(`${opts.timestamps ? `${ts} ` : ''}${text}\n`);
  }
  return opts.tailLines !== undefined ? lines.slice(Math.max(0, lines.length - opts.tailLines)) : lines;
}

export async function readCriLog(path: string, opts: LogOptions = {}): Promise<string> {
  const content = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  return renderCri(content, opts).join('');
}

/**
 * Yields rendered lines: first what the file holds (after tailLines/sinceSeconds), then new complete records
 * as they arrive, until `done` settles and the file has been drained.
 */
export async function* followCriLog(path: string, opts: LogOptions, done: Promise<unknown>, pollMs = 100): AsyncGenerator<string> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  let offset = 0;
  let first = true;
  let carry = '';
  for (;;) {
    const wasFinished = finished;
    const size = await stat(path).then((s) => s.size, () => 0);
    if (size > offset) {
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        await fh.read(buf, 0, buf.length, offset);
        offset = size;
        const text = carry + buf.toString('utf8');
        const cut = text.lastIndexOf('\n') + 1;
        carry = text.slice(cut);
        const complete = text.slice(0, cut);
        // Partial records are only rendered once their final record arrived.
        const lastFull = complete.search(/[^\n]* (stdout|stderr) F [^\n]*\n(?![\s\S]*(stdout|stderr) F )/);
        const usable = lastFull >= 0 ? complete.slice(0, complete.indexOf('\n', lastFull) + 1) : '';
        carry = complete.slice(usable.length) + carry;
        const lines = renderCri(usable, first ? opts : { timestamps: opts.timestamps });
        first = false;
        for (const l of lines) yield l;
      } finally {
        await fh.close();
      }
    } else if (first) {
      first = false;
    }
    if (wasFinished) {
      if (carry) for (const l of renderCri(`${carry}\n`, { timestamps: opts.timestamps })) yield l;
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
