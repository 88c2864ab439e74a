/**
 * Kubernetes probes against a container: exec, TCP socket and HTTP GET (status 200-399 is success). TCP and HTTP
 * run a short Node program inside the pod's (or node's) network namespace via `nsenter --net`, so no route from
 * the host's root namespace is needed.
 *
 *   execProbe(container, argv, timeoutSeconds): Promise<ProbeResult>
 *   tcpProbe(netns, host, port, timeoutSeconds): Promise<ProbeResult>
 *   httpGetProbe(netns, { host, port, path?, scheme?, headers? }, timeoutSeconds): Promise<ProbeResult>
 */
import { run } from '../../../../lib/exec.js';
import type { RunningContainer } from './containers.js';

export interface ProbeResult {
  success: boolean;
  message: string;
}

export async function execProbe(container: Pick<RunningContainer, 'execCapture'>, argv: readonly string[], timeoutSeconds: number): Promise<ProbeResult> {
  const r = await container.execCapture(argv, timeoutSeconds * 1000).catch((e: unknown) => ({ exitCode: null, stdout: '', stderr: String(e), timedOut: false }));
  if (r.timedOut) return { success: false, message: `command timed out after ${timeoutSeconds}s` };
  const output = `${r.stdout}${r.stderr}`.trim().slice(0, 1024);
  if (r.exitCode === 0) return { success: true, message: output };
  return { success: false, message: `command exited ${r.exitCode}${output ? `: ${output}` : ''}` };
}

// Runs inside the netns; prints one JSON line {ok, msg}.
const TCP_JS = `
const net = require('net');
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
const done = (ok, msg) => { console.log(JSON.stringify({ ok, msg })); s.destroy(); process.exit(0); };
s.setTimeout(Number(ms), () => done(false, 'dial tcp ' + host + ':' + port + ': i/o timeout'));
s.on('connect', () => done(true, 'connected to ' + host + ':' + port));
s.on('error', (e) => done(false, 'dial tcp ' + host + ':' + port + ': ' + e.message));
`;

const HTTP_JS = `
const [url, ms, headers] = process.argv.slice(1);
const mod = url.startsWith('https:') ? require('https') : require('http');
const req = mod.get(url, { headers: JSON.parse(headers), rejectUnauthorized: false, timeout: Number(ms) }, (res) => {
  let body = '';
  res.on('data', (d) => { if (body.length < 1024) body += d; });
  res.on('end', () => {
    const ok = res.statusCode >= 200 && res.statusCode < 400;
    console.log(JSON.stringify({ ok, msg: 'HTTP probe ' + (ok ? 'succeeded' : 'failed') + ' with statuscode: ' + res.statusCode + (ok ? '' : ' ' + body.slice(0, 200)) }));
    process.exit(0);
  });
});
req.on('timeout', () => { console.log(JSON.stringify({ ok: false, msg: 'Get "' + url + '": context deadline exceeded' })); process.exit(0); });
req.on('error', (e) => { console.log(JSON.stringify({ ok: false, msg: 'Get "' + url + '": ' + e.message })); process.exit(0); });
`;

async function inNetns(netns: string, js: string, args: string[], timeoutSeconds: number): Promise<ProbeResult> {
  const r = await run(['nsenter', `--net=/run/netns/${netns}`, '--', process.execPath, '-e', js, ...args], {
    nothrow: true,
    timeoutMs: timeoutSeconds * 1000 + 5000,
  });
  try {
    const parsed = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { ok: boolean; msg: string };
    return { success: parsed.ok, message: parsed.msg };
  } catch {
    return { success: false, message: `probe did not run in ${netns}: ${r.stderr.trim() || `exit ${r.exitCode}`}` };
  }
}

export function tcpProbe(netns: string, host: string, port: number, timeoutSeconds: number): Promise<ProbeResult> {
  return inNetns(netns, TCP_JS, [host, String(port), String(timeoutSeconds * 1000)], timeoutSeconds);
}

export interface HttpGetTarget {
  host: string;
  port: number;
  path?: string;
  scheme?: 'HTTP' | 'HTTPS';
  headers?: Record<string, string>;
}

export function httpGetUrl(t: HttpGetTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  const path = t.path ? (t.path.startsWith('/') ? t.path : `/${t.path}`) : '/';
  return `${t.scheme === 'HTTPS' ? 'https' : 'http'}://${host}:${t.port}${path}`;
}

export function httpGetProbe(netns: string, target: HttpGetTarget, timeoutSeconds: number): Promise<ProbeResult> {
  const headers = { 'User-Agent': 'kube-probe/1.33', Accept: '*/*', ...target.headers };
  return inNetns(netns, HTTP_JS, [httpGetUrl(target), String(timeoutSeconds * 1000), JSON.stringify(headers)], timeoutSeconds);
}
