// Samples the resident memory of a process group (wrangler dev and its
// workerd), so a test can report what moving a large instance cost.
import { readdir, readFile } from "node:fs/promises";

async function groupRss(pgid: number): Promise<Map<number, { name: string; rssKb: number }>> {
  const out = new Map<number, { name: string; rssKb: number }>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ")".
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp !== pgid) continue;
      const status = await readFile(`/proc/${entry}/status`, "utf8");
      const rss = /VmRSS:\s+(\d+) kB/.exec(status);
      if (rss) out.set(Number(entry), { name, rssKb: Number(rss[1]) });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Peak RSS per process, as "name:pid" (MiB), over the time `work` runs. */
export async function peakRss<T>(pgid: number, work: () => Promise<T>): Promise<{ result: T; peakMiB: Record<string, number> }> {
  const peak: Record<string, number> = {};
  let running = true;
  const sampler = (async () => {
    while (running) {
      for (const [pid, { name, rssKb }] of await groupRss(pgid)) peak[`${name}:${pid}`] = Math.max(peak[`${name}:${pid}`] ?? 0, Math.round(rssKb / 1024));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    return { result: await work(), peakMiB: peak };
  } finally {
    running = false;
    await sampler;
  }
}
