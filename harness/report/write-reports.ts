/**
 * Write the four reports into a directory: `report.json`, `junit.xml`, `report.md`, `report.html`. Each is
 * rendered by a pure function (re-exported here) and redacted with the same secrets.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { RunReport } from './model.js';

export { renderHtml, renderJson, renderJunit, renderMarkdown };

export const REPORT_FILES = { json: 'report.json', junit: 'junit.xml', markdown: 'report.md', html: 'report.html' } as const;

/** Render and write every report; returns the paths written, by kind. */
export async function writeReports(dir: string, report: RunReport, secrets: readonly string[] = []): Promise<Record<keyof typeof REPORT_FILES, string>> {
  await mkdir(dir, { recursive: true });
  const render = { json: renderJson, junit: renderJunit, markdown: renderMarkdown, html: renderHtml };
  const out = {} as Record<keyof typeof REPORT_FILES, string>;
  for (const kind of Object.keys(REPORT_FILES) as (keyof typeof REPORT_FILES)[]) {
    out[kind] = join(dir, REPORT_FILES[kind]);
    await writeFile(out[kind], render[kind](report, secrets), { mode: 0o644 });
  }
  return out;
}
