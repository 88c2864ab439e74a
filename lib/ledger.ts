/**
 * The undo ledger both cluster providers keep: whatever a start makes outside the process is pushed with how to
 * undo it, and stop() (or a failed or aborted start) unwinds it newest first, going on past failures.
 */
import { errorMessage } from './errors.js';

export class UndoLedger {
  private readonly entries: { what: string; undo: () => Promise<unknown> }[] = [];

  push(what: string, undo: () => Promise<unknown>): void {
    this.entries.push({ what, undo });
  }

  get size(): number {
    return this.entries.length;
  }

  /** Undo everything, newest first; returns `what: <first line of the error>` for each step that failed. */
  async unwind(): Promise<string[]> {
    const left: string[] = [];
    while (this.entries.length) {
      const step = this.entries.pop()!;
      try {
        await step.undo();
      } catch (err) {
        left.push(`${step.what}: ${errorMessage(err).split('\n')[0]}`);
      }
    }
    return left;
  }
}
