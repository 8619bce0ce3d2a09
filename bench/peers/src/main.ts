// `npm run bench -- peers`: the same fault (SIGKILL of the primary's whole process family) under the
// same open-model load and the same acknowledged-write audit, on this project's payments pair, on
// Patroni + etcd + HAProxy and on Redis Sentinel — each peer with its defaults and tuned. See README.md.
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaseSubnet } from '@failover-lab/lab/testing';
import { ensurePackages, versions } from './install';
import { loadAverage1m, runFaultUnderLoad } from './load';
import {
  auditWrites,
  errorsByCode,
  failedAfterFault,
  longestStallMs,
  recoveryMs,
  type WriteAudit,
} from './measure';
import { type BenchOptions, parseOptions, USAGE } from './options';
import { Processes, sweepAbandonedRoots } from './procs';
import {
  type ConfigSummary,
  comparisonText,
  formatTable,
  type RunResult,
  renderSvg,
  settingsList,
  summarize,
} from './report';
import { PatroniSystem } from './systems/patroni';
import { ProjectSystem } from './systems/project';
import { SentinelSystem } from './systems/sentinel';
import type { BenchContext, SystemUnderTest } from './systems/types';
import { seconds, waitFor } from './util';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Seconds one run is expected to take (setup + warm-up + recovery + tail + audit), for the budget. */
const EXPECTED_RUN_S: Record<string, number> = {
  'project/default': 35,
  'patroni/default': 65,
  'patroni/tuned': 40,
  'sentinel/default': 50,
  'sentinel/tuned': 20,
};
const EXPECTED_PREPARE_S: Record<string, number> = { project: 60, patroni: 3, sentinel: 0 };

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s`;
const log = (line: string) => console.log(`[${elapsed()}] ${line}`);

async function main(options: BenchOptions): Promise<number> {
  const args = process.argv.slice(2);
  const command = `${process.env.LAB_SUBNET ? `LAB_SUBNET=${process.env.LAB_SUBNET} ` : ''}npm run bench -- peers${args.length ? ` ${args.join(' ')}` : ''}`;
  log(
    `${command} — ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadAverage1m().toFixed(2)}`,
  );
  if (options.install) ensurePackages(log);
  const swept = await sweepAbandonedRoots();
  if (swept.length)
    log(`removed ${swept.length} state dir(s) left by an earlier run that died: ${swept.join(', ')}`);

  const lease = options.subnet === undefined ? await leaseSubnet() : undefined;
  const subnet = options.subnet ?? lease!.subnet;
  const procs = new Processes();
  const ctx: BenchContext = { procs, subnet, log, keepState: options.keepState };
  const systems: SystemUnderTest[] = [
    new ProjectSystem(),
    new PatroniSystem('default'),
    new PatroniSystem('tuned'),
    new SentinelSystem('default'),
    new SentinelSystem('tuned'),
  ].filter(
    (sut) =>
      options.only.length === 0 ||
      options.only.some((o) => o === sut.system || o === `${sut.system}:${sut.config}`),
  );

  let current: SystemUnderTest | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      // the lab's own shutdown first (its supervisor restarts what dies under it), then the sweep
      if (current)
        await Promise.race([current.finish(ctx).catch(() => {}), new Promise((r) => setTimeout(r, 30_000))]);
      await procs.killAll();
      if (options.keepState) {
        procs.keepRoot();
        log(`state kept in ${procs.root}`);
      } else procs.removeRoot();
      lease?.release();
    })();
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (cleaning) {
      procs.killAllSync();
      process.exit(130);
    }
    log(`${signal}: stopping everything this benchmark started (again to force)`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const outDir =
    options.out ??
    join(REPO_ROOT, 'drill-out', `bench-peers-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(outDir, { recursive: true });
  log(`subnet ${subnet} (addresses 127.${subnet}.x.y), state in ${procs.root}, output in ${outDir}`);
  log(
    `versions: ${Object.entries(versions())
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
  );
  const results: RunResult[] = [];
  const summaries: ConfigSummary[] = [];
  try {
    for (const [index, sut] of systems.entries()) {
      const key = `${sut.system}/${sut.config}`;
      const planned = options.runs ?? options.defaultRuns[key] ?? 3;
      log(`${key}: ${sut.settings}`);
      current = sut;
      const runs: RunResult[] = [];
      try {
        await sut.prepare(ctx);
      } catch (err) {
        // e.g. the lab not starting on an overloaded machine: the other systems still run
        log(`${key}: could not start — ${(err as Error).message}`);
        keepLogs(procs.root, join(outDir, `logs-${sut.system}-${sut.config}-prepare`));
        await sut.finish(ctx).catch(() => {});
        current = undefined;
        summaries.push(summarize(sut.system, sut.config, sut.settings, runs));
        continue;
      }
      const durations: number[] = [];
      for (let run = 1; run <= planned; run++) {
        if (run > options.minRuns) {
          const later = systems.slice(index + 1);
          const remainingS =
            later.reduce(
              (sum, s) =>
                sum +
                (EXPECTED_PREPARE_S[s.system] ?? 0) +
                options.minRuns * (EXPECTED_RUN_S[`${s.system}/${s.config}`] ?? 60),
              0,
            ) +
            durations.reduce((a, b) => a + b, 0) / durations.length / 1000;
          if ((Date.now() - started) / 1000 + remainingS > options.budgetS) {
            log(`${key}: stopping after ${run - 1} runs to stay within the ${options.budgetS} s budget`);
            break;
          }
        }
        const t0 = Date.now();
        const result = await oneRun(ctx, sut, run, planned, options, outDir);
        durations.push(Date.now() - t0);
        runs.push(result);
        results.push(result);
        if (runs.length >= 2 && runs.slice(-2).every((r) => r.error)) {
          log(`${key}: two broken runs in a row, moving on`);
          break;
        }
      }
      await sut.finish(ctx);
      current = undefined;
      summaries.push(summarize(sut.system, sut.config, sut.settings, runs));
    }
  } finally {
    await cleanup();
  }

  const when = new Date();
  const loads = results.filter((r) => !r.error).map((r) => r.loadAverage.mean);
  const loadLine = loads.length
    ? `load average (1 min) during the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${cpus().length} cores`
    : 'no run was measured';
  const table = formatTable(summaries);
  const text = [
    `${command} — ${when.toISOString()}, total ${((Date.now() - started) / 1000).toFixed(0)} s; ${loadLine}`,
    '',
    "median / worst over runs; (×N) = the peer's median over the project's; n/r = not recovered",
    '',
    table,
    '',
    'settings:',
    settingsList(summaries),
    '',
    comparisonText(summaries),
  ].join('\n');
  console.log(`\n${text}\n`);

  writeFileSync(join(outDir, 'summary.md'), `${text}\n`);
  writeFileSync(
    join(outDir, 'chart.svg'),
    renderSvg(summaries, `${when.toISOString().slice(0, 16)}Z · ${loadLine}`),
  );
  writeFileSync(
    join(outDir, 'results.json'),
    `${JSON.stringify({ command, date: when.toISOString(), cores: cpus().length, versions: versions(), options, summaries, runs: results }, null, 2)}\n`,
  );
  log(`wrote ${join(outDir, 'summary.md')}, chart.svg, results.json`);
  return summaries.length && summaries.every((x) => x.runs > 0) ? 0 : 1;
}

async function oneRun(
  ctx: BenchContext,
  sut: SystemUnderTest,
  run: number,
  planned: number,
  options: BenchOptions,
  outDir: string,
): Promise<RunResult> {
  const label = `${sut.system}/${sut.config} run ${run}/${planned}`;
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const empty: RunResult = {
    system: sut.system,
    config: sut.config,
    run,
    startedAt,
    faultAt: null,
    setupMs: 0,
    rtoMs: null,
    stallMs: 0,
    failed: 0,
    requests: 0,
    errors: [],
    audit: null,
    spurious: null,
    loadAverage: { mean: loadAverage1m(), max: loadAverage1m() },
    perSecond: [],
    details: {},
    notes: [],
  };
  ctx.log(`${label}: setting up`);
  let prepared: Awaited<ReturnType<SystemUnderTest['startRun']>> | undefined;
  try {
    prepared = await sut.startRun(ctx, run);
    const setupMs = Date.now() - t0;
    const p = prepared;
    const r = await runFaultUnderLoad({
      client: p.client,
      ratePerSec: options.rate,
      writeShare: options.writeShare,
      warmupMs: options.warmupMs,
      tailMs: options.tailMs,
      maxAfterFaultMs: sut.maxAfterFaultMs,
      timeoutMs: options.timeoutMs,
      idPrefix: `${sut.system}-${sut.config}-${run}-${Date.now().toString(36)}`,
      inject: async () => {
        const at = await p.inject();
        ctx.log(`${label}: primary killed under ${options.rate} req/s`);
        return at;
      },
      log: ctx.log,
    });
    // A system that never came back may not answer the audit: the run still counts (RTO "n/r"), its
    // audit figures stay empty and say why.
    const notes: string[] = [];
    let audit: WriteAudit | null = null;
    try {
      const applied = await waitFor(
        'the audit on the new primary',
        30_000,
        () => p.audit([...r.attempted]),
        1_000,
      );
      audit = auditWrites(r.acked, r.attempted, applied);
    } catch (err) {
      notes.push(`no audit: ${(err as Error).message}`);
    }
    let spurious: number | null = null;
    try {
      spurious = await p.spurious();
    } catch (err) {
      notes.push(`no failover count: ${(err as Error).message}`);
    }
    const rtoMs = recoveryMs(r.records, r.faultMs);
    const result: RunResult = {
      ...empty,
      faultAt: new Date(r.faultMs).toISOString(),
      setupMs,
      rtoMs,
      stallMs: longestStallMs(r.records, r.faultMs, r.endMs),
      failed: failedAfterFault(r.records, r.faultMs),
      requests: r.records.length,
      errors: errorsByCode(r.records),
      audit,
      spurious,
      loadAverage: {
        mean: r.loadAverage.reduce((a, b) => a + b, 0) / r.loadAverage.length,
        max: Math.max(...r.loadAverage),
      },
      perSecond: bucketsPerSecond(r.records, r.faultMs),
      details: { ...p.details(), dropped: r.load.dropped },
      notes,
    };
    for (const note of notes) ctx.log(`${label}: ${note}`);
    // a system that never came back is worth a post-mortem too
    if (rtoMs === null) keepLogs(ctx.procs.root, join(outDir, `logs-${sut.system}-${sut.config}-${run}`));
    ctx.log(
      `${label}: RTO ${seconds(rtoMs)}, longest stall ${seconds(result.stallMs)}, ${result.failed} failed of ` +
        `${result.requests}, ` +
        (audit
          ? `${audit.acked} acked writes: ${audit.lost} lost, ${audit.duplicated} duplicated; `
          : 'no audit; ') +
        `spurious failovers ${spurious ?? 'n/a'}; load ${result.loadAverage.mean.toFixed(1)}` +
        (result.errors.length
          ? `; errors ${result.errors
              .slice(0, 3)
              .map(([c, k]) => `${c}×${k}`)
              .join(', ')}`
          : ''),
    );
    return result;
  } catch (err) {
    const message = (err as Error).message;
    ctx.log(`${label}: BROKEN — ${message}`);
    keepLogs(ctx.procs.root, join(outDir, `logs-${sut.system}-${sut.config}-${run}`));
    return { ...empty, setupMs: Date.now() - t0, error: message };
  } finally {
    await prepared?.close().catch((err) => ctx.log(`${label}: close failed: ${(err as Error).message}`));
  }
}

/** A broken run's logs outlive the temp dir: copied (only *.log files) into the output folder. */
function keepLogs(root: string, into: string) {
  try {
    for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.log')) continue;
      const from = join(entry.parentPath, entry.name);
      cpSync(from, join(into, from.slice(root.length + 1).replaceAll('/', '_')));
    }
  } catch {
    // logs are a courtesy; the run's error message is already printed
  }
}

function bucketsPerSecond(records: { startMs: number; ok: boolean }[], faultMs: number) {
  const buckets = new Map<number, { t: number; ok: number; failed: number }>();
  for (const r of records) {
    const t = Math.floor((r.startMs - faultMs) / 1000);
    if (t < -3) continue;
    const b = buckets.get(t) ?? { t, ok: 0, failed: 0 };
    if (r.ok) b.ok++;
    else b.failed++;
    buckets.set(t, b);
  }
  return [...buckets.values()].sort((a, b) => a.t - b.t);
}

const parsed = parseOptions(process.argv.slice(2));
if ('error' in parsed) {
  console.error(`${parsed.error}\n\n${USAGE}`);
  process.exit(2);
}
if (parsed.help) {
  console.log(USAGE);
  process.exit(0);
}
main(parsed.options).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench peers failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
