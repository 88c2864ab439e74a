/**
 * `kind load docker-image` for the images present in the local Docker. Absent ones are left to the nodes to pull
 * (a registry or mirror is then needed); the caller has already refused absent never-pullable images.
 *
 * Docker's containerd image store (the default of fresh Docker 29 installs, opt-in before) saves a pulled
 * multi-platform image as an index naming every platform while holding the content of the host's only; kind load
 * imports with `ctr images import --all-platforms`, which then fails with "content digest sha256:...: not found"
 * (kubernetes-sigs/kind#3795, open, reproduced with kind 0.30 and 0.32 on Docker 28/29). On exactly that error each
 * image is saved for the Docker server's platform and loaded as an archive, the workaround kind documents
 * (kubernetes-sigs/kind#4247: `docker image save --platform` + `kind load image-archive`; --platform needs Docker 28+).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError } from '../../../lib/errors.js';
import type { KindContext } from './context.js';

export const DIGEST_NOT_FOUND = /content digest sha256:[0-9a-f]+: not found/;

export async function loadLocalImages(ctx: KindContext, images: readonly string[]): Promise<{ loaded: string[]; pulled: string[] }> {
  const loaded: string[] = [];
  const pulled: string[] = [];
  for (const image of [...new Set(images)]) {
    const r = await ctx.tools.docker(['image', 'inspect', '--format', '{{.Id}}', image], { nothrow: true });
    (r.exitCode === 0 ? loaded : pulled).push(image);
  }
  if (loaded.length) await loadIntoNodes(ctx, loaded);
  if (pulled.length) ctx.log('images not in the local Docker: the nodes pull them', { images: pulled });
  return { loaded, pulled };
}

async function loadIntoNodes(ctx: KindContext, images: readonly string[]): Promise<void> {
  try {
    await ctx.tools.kind(['load', 'docker-image', ...images, '--name', ctx.name], { timeoutMs: ctx.timeouts.imagesMs });
    return;
  } catch (err) {
    if (!(err instanceof CommandError) || !DIGEST_NOT_FOUND.test(`${err.stderr}\n${err.stdout}`)) throw err;
  }
  const platform = (await ctx.tools.docker(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}'])).stdout.trim();
  ctx.warn(`kind load docker-image failed on Docker's containerd image store (kubernetes-sigs/kind#3795); loading ${images.join(', ')} as ${platform} archives instead`);
  const dir = join(ctx.workDir, 'image-archives');
  await mkdir(dir, { recursive: true });
  try {
    for (const [i, image] of images.entries()) {
      ctx.checkAbort();
      const tar = join(dir, `${i}.tar`);
      await ctx.tools.docker(['image', 'save', '--platform', platform, '--output', tar, image], { timeoutMs: ctx.timeouts.imagesMs });
      await ctx.tools.kind(['load', 'image-archive', tar, '--name', ctx.name], { timeoutMs: ctx.timeouts.imagesMs });
      await rm(tar, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
