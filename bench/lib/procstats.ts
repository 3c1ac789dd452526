// CPU and memory of the processes under test, from /proc: VmRSS sampled every 500 ms (maximum
// kept per window), CPU as utime+stime ticks between the start and the end of a window.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const clockTicksPerS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The infrastructure's processes, found by command name (summed over all their processes). */
const infraNames: Record<string, string> = { postgres: 'postgres', rabbitmq: 'beam.smp', redis: 'redis-server' };

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime + stime in ticks; undefined when the process is gone. */
function cpuTicks(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssBytes(pid: number): number | undefined {
  const match = readText(`/proc/${pid}/status`)?.match(/^VmRSS:\s+(\d+) kB/m);
  return match ? Number(match[1]) * 1024 : undefined;
}

function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (readText(`/proc/${entry}/comm`)?.trim() === name) pids.push(Number(entry));
  }
  return pids;
}

function machineTicks(): { busy: number; total: number } {
  const line = readText('/proc/stat')?.split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

export interface ProcessFigures {
  /** 100 = one core busy for the whole window. */
  cpuPct: number | undefined;
  rssMaxMb: number | undefined;
}

export interface WindowFigures {
  seconds: number;
  processes: Record<string, ProcessFigures>;
  /** Summed over all processes of that name; RSS of PostgreSQL is not summed (shared buffers). */
  infra: Record<string, { cpuPct: number }>;
  /** This process: the load generator (and the bench itself). */
  loadGenerator: { cpuPct: number; rssMaxMb: number };
  /** All cores: 100 × cores = fully busy. */
  machineCpuPct: number;
  /** The machine's busy time not explained by the processes above (other work on the box). */
  otherCpuPct: number;
}

interface OpenWindow {
  began: number;
  cpu: Map<string, number | undefined>;
  infraCpu: Map<string, Map<number, number>>;
  selfCpu: NodeJS.CpuUsage;
  machine: { busy: number; total: number };
  rssMax: Map<string, number>;
  selfRssMax: number;
}

export class ProcSampler {
  private readonly windows = new Set<OpenWindow>();
  private readonly overallRss = new Map<string, number>();
  /** Last seen CPU ticks of every infrastructure process, exited ones included. */
  private readonly infraLatest = new Map<string, Map<number, number>>(Object.keys(infraNames).map((label) => [label, new Map()]));
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: Map<string, number>) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 500);
    this.timer.unref();
    this.sample();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The largest RSS seen per process since start(), in MB. */
  overallRssMaxMb(): Record<string, number> {
    return Object.fromEntries([...this.overallRss].map(([name, bytes]) => [name, bytes / 2 ** 20]));
  }

  private sample(): void {
    for (const [name, pid] of this.pids) {
      const rss = rssBytes(pid);
      if (rss === undefined) continue;
      this.overallRss.set(name, Math.max(this.overallRss.get(name) ?? 0, rss));
      for (const w of this.windows) w.rssMax.set(name, Math.max(w.rssMax.get(name) ?? 0, rss));
    }
    const self = process.memoryUsage.rss();
    for (const w of this.windows) w.selfRssMax = Math.max(w.selfRssMax, self);
    // Backends come and go (pools close idle connections): keep each one's last ticks.
    for (const [label, comm] of Object.entries(infraNames)) {
      const latest = this.infraLatest.get(label)!;
      for (const pid of pidsNamed(comm)) {
        const ticks = cpuTicks(pid);
        if (ticks !== undefined) latest.set(pid, ticks);
      }
    }
  }

  private infraSnapshot(): Map<string, Map<number, number>> {
    return new Map([...this.infraLatest].map(([label, ticks]) => [label, new Map(ticks)]));
  }

  /** Starts measuring; call the returned function at the end of the workload. */
  begin(): () => WindowFigures {
    this.sample();
    const w: OpenWindow = {
      began: performance.now(),
      cpu: new Map([...this.pids].map(([name, pid]) => [name, cpuTicks(pid)])),
      infraCpu: this.infraSnapshot(),
      selfCpu: process.cpuUsage(),
      machine: machineTicks(),
      rssMax: new Map(),
      selfRssMax: process.memoryUsage.rss(),
    };
    this.windows.add(w);
    return () => {
      this.sample();
      this.windows.delete(w);
      const seconds = (performance.now() - w.began) / 1000;
      const pct = (ticks: number) => (100 * ticks) / clockTicksPerS / seconds;
      const processes: Record<string, ProcessFigures> = {};
      for (const [name, pid] of this.pids) {
        const before = w.cpu.get(name);
        const after = cpuTicks(pid);
        const rss = w.rssMax.get(name);
        processes[name] = {
          cpuPct: before === undefined || after === undefined ? undefined : pct(after - before),
          rssMaxMb: rss === undefined ? undefined : rss / 2 ** 20,
        };
      }
      const infra: Record<string, { cpuPct: number }> = {};
      for (const [label, latest] of this.infraLatest) {
        const before = w.infraCpu.get(label)!;
        let ticks = 0;
        for (const [pid, now] of latest) ticks += now - (before.get(pid) ?? 0);
        infra[label] = { cpuPct: pct(ticks) };
      }
      const self = process.cpuUsage(w.selfCpu);
      const loadGeneratorPct = (100 * (self.user + self.system)) / 1e6 / seconds;
      const machine = machineTicks();
      const machineCpuPct = ((100 * (machine.busy - w.machine.busy)) / Math.max(1, machine.total - w.machine.total)) * cpuCount();
      const explained =
        Object.values(processes).reduce((sum, p) => sum + (p.cpuPct ?? 0), 0) + Object.values(infra).reduce((sum, p) => sum + p.cpuPct, 0) + loadGeneratorPct;
      return {
        seconds,
        processes,
        infra,
        loadGenerator: { cpuPct: loadGeneratorPct, rssMaxMb: w.selfRssMax / 2 ** 20 },
        machineCpuPct,
        otherCpuPct: Math.max(0, machineCpuPct - explained),
      };
    };
  }
}

function cpuCount(): number {
  return (readText('/proc/stat') ?? '').split('\n').filter((l) => /^cpu\d+ /.test(l)).length || 1;
}
