/**
 * `kind load docker-image` for the images present in the local Docker. Absent ones are left to the nodes to pull
 * (a registry or mirror is then needed); the caller has already refused absent never-pullable images.
 */
import type { KindContext } from './context.js';

export async function loadLocalImages(ctx: KindContext, images: readonly string[]): Promise<{ loaded: string[]; pulled: string[] }> {
  const loaded: string[] = [];
  const pulled: string[] = [];
  for (const image of [...new Set(images)]) {
    const r = await ctx.tools.docker(['image', 'inspect', '--format', '{{.Id}}', image], { nothrow: true });
    (r.exitCode === 0 ? loaded : pulled).push(image);
  }
  if (loaded.length) await ctx.tools.kind(['load', 'docker-image', ...loaded, '--name', ctx.name], { timeoutMs: ctx.timeouts.imagesMs });
  if (pulled.length) ctx.log('images not in the local Docker: the nodes pull them', { images: pulled });
  return { loaded, pulled };
}
