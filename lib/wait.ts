import { TimeoutError } from './errors.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Poll `probe` until it returns a value other than undefined. On timeout, the error names `what` and the last
 * description `probe` gave through `seen`.
 */
export async function waitFor<T>(
  what: string,
  probe: (seen: (s: string) => void) => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  let interval = Math.min(opts.intervalMs ?? 50, 1000);
  for (;;) {
    const v = await probe((s) => (last = s));
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new TimeoutError(what, timeoutMs, last);
    await sleep(interval);
    interval = Math.min(interval * 2, opts.intervalMs ?? 500);
  }
}

/** Wait for `p` at most `ms`; the timer is cleared either way, so a settled wait never holds the process open. */
export async function atMost<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
