/**
 * What both target hosts do the same way once tgtd answers: targets and ACLs through TgtAdmin, and portal faults
 * that are remembered while tgtd is down and applied when it comes back. Subclasses own the tgtd lifecycle.
 */
import { HarnessError } from '../../lib/errors.js';
import type { TargetSpec, TargetState } from './target-host.js';
import type { TgtAdmin } from './tgt-admin.js';

export abstract class TgtHostBase {
  abstract readonly portals: readonly string[];
  protected abstract readonly admin: TgtAdmin;
  /** Portals taken down with portalDown (tgtd is started without them). */
  protected readonly down = new Set<string>();
  /** True while tgtd runs (portal changes go to it); false while the host is down. */
  protected abstract get tgtdRunning(): boolean;

  createTarget(spec: TargetSpec): Promise<void> {
    return this.admin.createTarget(spec);
  }

  deleteTarget(iqn: string): Promise<void> {
    return this.admin.deleteTarget(iqn);
  }

  setAcl(iqn: string, initiators: string[]): Promise<void> {
    return this.admin.setAcl(iqn, initiators);
  }

  listTargets(): Promise<TargetState[]> {
    return this.admin.showTargets();
  }

  async portalDown(portal: string): Promise<void> {
    this.checkPortal(portal);
    if (this.down.has(portal)) return;
    if (this.tgtdRunning) await this.admin.removePortal(portal);
    this.down.add(portal);
  }

  async portalUp(portal: string): Promise<void> {
    this.checkPortal(portal);
    if (!this.down.has(portal)) return;
    if (this.tgtdRunning) await this.admin.addPortal(portal);
    this.down.delete(portal);
  }

  protected checkPortal(portal: string): void {
    if (!this.portals.includes(portal)) throw new HarnessError('BAD_INPUT', `${portal} is not a portal of this host (${this.portals.join(', ')})`);
  }
}
