/**
 * IPv4 helpers and the per-node pod address allocator (lowest free host address first, release puts it back).
 */

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): { base: number; prefix: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const prefix = Number(m[2]);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipToInt(m[1]!) & mask) >>> 0, prefix };
}

/**
 * Hands out host addresses of `cidr`, skipping the network address, the broadcast address and `reserved`
 * (the bridge's own address).
 */
export class Ipv4Pool {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Map<string, number>();
  private readonly taken = new Set<number>();

  constructor(
    readonly cidr: string,
    reserved: readonly string[] = [],
  ) {
    const { base, prefix } = parseCidr(cidr);
    if (prefix > 30) throw new Error(`CIDR ${cidr} is too small for a pod range`);
    this.base = base;
    this.size = 2 ** (32 - prefix);
    for (const r of reserved) this.taken.add(ipToInt(r) - base);
  }

  /** The address held by `key`, allocating the lowest free one on first use. */
  allocate(key: string): string {
    const have = this.used.get(key);
    if (have !== undefined) return intToIp(this.base + have);
    for (let off = 1; off < this.size - 1; off++) {
      if (this.taken.has(off)) continue;
      this.taken.add(off);
      this.used.set(key, off);
      return intToIp(this.base + off);
    }
    throw new Error(`no free address left in ${this.cidr}`);
  }

  /** Returns the address of `key` to the pool; false when `key` held none. */
  release(key: string): boolean {
    const off = this.used.get(key);
    if (off === undefined) return false;
    this.used.delete(key);
    this.taken.delete(off);
    return true;
  }

  get allocated(): number {
    return this.used.size;
  }
}
