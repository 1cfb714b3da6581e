// The side-by-side benchmark's report lines: host steal is shown per run and summed up in the notes only when the host took some;
// latency under load is split between the leader's clients and the followers'.

import { describe, expect, it } from 'vitest';

interface Run {
  opsPerSec: number;
  errors: number;
  p50: number;
  p99: number;
  loadgenCpu: number;
  loadgenMaxWorkerCpu: number;
  loadgenShare: number;
  serverCpu: number;
  serverCpuUsPerOp: number;
  machineBusy: number;
  hostSteal: number;
  leaderClients?: { p50: number; p99: number };
  followerClients?: { p50: number; p99: number };
}
interface Report {
  describeRun(r: Run): string;
  METRICS: { key: string; get(m: Record<string, Run>): number | undefined }[];
  loadgenNotes(results: { system: string; metrics: Record<string, Run> }[]): string[];
}

// A computed specifier: the script is plain JavaScript without type declarations.
const reportPath = new URL('../../../scripts/bench/vs-zookeeper/report.mjs', import.meta.url).href;
const report = (await import(reportPath)) as Report;

function run(machineBusy: number, hostSteal: number): Run {
  return { opsPerSec: 20000, errors: 0, p50: 5, p99: 20, loadgenCpu: 60, loadgenMaxWorkerCpu: 17, loadgenShare: 35, serverCpu: 110, serverCpuUsPerOp: 55, machineBusy, hostSteal };
}

describe('vs-zookeeper report: host steal', () => {
  it('a run line says how much the host stole, from half a percent on', () => {
    expect(report.describeRun(run(92, 4.2))).toContain('machine 92% busy (4% stolen by the host)');
    expect(report.describeRun(run(92, 0.2))).toMatch(/machine 92% busy$/);
  });

  it('the notes give the range of steal over every run, or say nothing when there was none', () => {
    const stolen = report.loadgenNotes([
      { system: 'zookeeper', metrics: { 'load.create': run(99, 1.4) } },
      { system: 'zabkeeper', metrics: { 'load.create': run(88, 6.6), 'load.set': run(87, 0.1) } },
    ]);
    expect(stolen.find((n) => n.startsWith('Host steal'))).toBe(
      "Host steal while measuring: 0–7% of the machine's CPU time went to other guests of the hypervisor while this one wanted to run (counted as busy above); a run with more steal is slower for reasons outside both servers.",
    );
    const none = report.loadgenNotes([{ system: 'zabkeeper', metrics: { 'load.create': run(90, 0.3) } }]);
    expect(none.some((n) => n.startsWith('Host steal'))).toBe(false);
  });
});

describe('vs-zookeeper report: latency by member', () => {
  const split = { ...run(95, 0), leaderClients: { p50: 4.9, p99: 14.26 }, followerClients: { p50: 6.22, p99: 21.06 } };

  it("a run line gives the leader's clients' and the followers' p50/p99 when the run measured them", () => {
    expect(report.describeRun(split)).toContain("p99 20.00 ms (leader's clients 4.90/14.26, followers' 6.22/21.06) | loadgen");
    expect(report.describeRun(run(95, 0))).toContain('p99 20.00 ms | loadgen');
  });

  it("the table's rows read the create run's split p99s", () => {
    const row = (key: string) => report.METRICS.find((m) => m.key === key)!;
    expect(row('createP99Leader').get({ 'load.create': split })).toBe(14.26);
    expect(row('createP99Followers').get({ 'load.create': split })).toBe(21.06);
    expect(row('createP99Followers').get({ 'load.create': run(95, 0) })).toBeUndefined();
  });
});
