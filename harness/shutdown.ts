/**
 * Foreground commands wait here until SIGINT or SIGTERM, then run their cleanup once. A second signal while
 * cleanup runs is reported but does not cut it short: leaving targets and mounts behind is worse than waiting.
 */
export function onShutdown(cleanup: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let running = false;
    const handler = (sig: NodeJS.Signals) => {
      if (running) {
        console.error(`${sig} again: still cleaning up, please wait`);
        return;
      }
      running = true;
      console.error(`${sig}: cleaning up`);
      cleanup().then(
        () => {
          process.off('SIGINT', handler);
          process.off('SIGTERM', handler);
          console.error('clean: everything this command made is gone');
          resolve();
        },
        (err: unknown) => {
          process.off('SIGINT', handler);
          process.off('SIGTERM', handler);
          reject(err);
        },
      );
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
