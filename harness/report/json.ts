/** `report.json`: the model itself, redacted, summary recomputed; validated by `report.schema.json`. */
import type { RunReport } from './model.js';
import { redactReport } from './redact.js';

export function renderJson(report: RunReport, secrets: readonly string[] = []): string {
  return JSON.stringify(redactReport(report, secrets), null, 2) + '\n';
}
