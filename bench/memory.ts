// Resident memory of running processes, read from /proc (Linux).
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
}

/** The processes of a process group (wrangler and its workerd, tsx and its node). */
export function processGroup(pgid: number): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const [, ppid, pgrp] = stat.slice(close + 2).split(" ");
      if (Number(pgrp) === pgid) found.push({ pid: Number(entry), ppid: Number(ppid), name: stat.slice(stat.indexOf("(") + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** VmRSS in bytes, 0 when the process is gone. */
export function residentBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples the processes every 20 ms until stopped; returns each one's resident bytes at the start and at its peak. */
export function sampleMemory(pids: Record<string, number>): { stop(): Record<string, { start: number; peak: number }> } {
  const seen = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, { start: residentBytes(pid), peak: residentBytes(pid) }]));
  const timer = setInterval(() => {
    for (const [role, pid] of Object.entries(pids)) seen[role]!.peak = Math.max(seen[role]!.peak, residentBytes(pid));
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return seen;
    },
  };
}
