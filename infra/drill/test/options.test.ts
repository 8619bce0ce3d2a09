import { describe, expect, it } from 'vitest';
import { parseCli, parseDuration, UsageError } from '../src/options';
import { DEFAULT_OPTIONS } from '../src/run';

describe('parseCli', () => {
  const now = new Date('2026-11-22T01:02:03.456Z');

  it('defaults to region-kill on the local lab with the built-in load', () => {
    const o = parseCli([], now);
    expect(o).toMatchObject({ scenario: 'region-kill', backend: 'local', load: 'builtin', outGiven: false });
    expect(o.outDir).toBe('drill-out/region-kill-2026-11-22T01-02-03-456Z');
    expect(o.durationMs + o.warmupMs).toBe(DEFAULT_OPTIONS.durationMs + DEFAULT_OPTIONS.warmupMs);
  });

  it('reads every option', () => {
    const o = parseCli(
      [
        'db-kill',
        '--duration',
        '12s',
        '--warmup',
        '1500ms',
        '--rate',
        '90',
        '--seed',
        '7',
        '--out',
        'x',
        '--backend',
        'local',
        '--load',
        'k6',
        '--users',
        '5',
      ],
      now,
    );
    expect(o).toMatchObject({
      scenario: 'db-kill',
      durationMs: 12_000,
      warmupMs: 1_500,
      ratePerSec: 90,
      seed: 7,
      outDir: 'x',
      outGiven: true,
      backend: 'local',
      load: 'k6',
      users: 5,
    });
  });

  it('reads --backend compose (with the built-in load)', () => {
    expect(parseCli(['--backend', 'compose'], now)).toMatchObject({ backend: 'compose', load: 'builtin' });
  });

  it.each([
    [['regionkill'], /unknown scenario/],
    [['--rate', '0'], /--rate must be an integer/],
    [['--rate'], /--rate needs a value/],
    [['--duration', 'soon'], /--duration must look like/],
    [['--backend', 'k8s'], /--backend must be local or compose/],
    [['--backend', 'compose', '--load', 'k6'], /--load k6 runs with --backend local only/],
    [['--users', '1'], /at least 2/],
    [['--frobnicate', '1'], /unknown option/],
    [['--watch', '30s'], /--watch belongs to the control-plane comparison/],
    [['--points', '2'], /belong to the sweep/],
    [['sweep', '--points', '9'], /--points/],
    [['sweep', '--runs', '0'], /--runs/],
    [
      ['control-plane', '--backend', 'compose'],
      /control-plane runs on the local lab with the built-in load only/,
    ],
    [['control-plane', '--load', 'k6'], /control-plane runs on the local lab with the built-in load only/],
  ])('rejects %j clearly', (argv, message) => {
    expect(() => parseCli(argv as string[], now)).toThrow(UsageError);
    expect(() => parseCli(argv as string[], now)).toThrow(message);
  });

  it('reads the control-plane comparison: a region kill on each arm, the dead arm watched for --watch', () => {
    const o = parseCli(['control-plane', '--watch', '45s', '--duration', '20s'], now);
    expect(o).toMatchObject({
      comparison: 'control-plane',
      scenario: 'region-kill',
      watchMs: 45_000,
      durationMs: 20_000,
    });
    expect(o.outDir).toBe('drill-out/control-plane-2026-11-22T01-02-03-456Z');
    expect(parseCli([], now).comparison).toBeNull();
  });

  it('reads the sweep: a reduced grid, fewer runs, no CPU stress', () => {
    expect(parseCli(['sweep'], now)).toMatchObject({
      comparison: 'sweep',
      points: 8,
      runs: 3,
      stressCpus: 2,
    });
    expect(parseCli(['sweep', '--points', '2', '--runs', '1', '--stress-cpu', '0'], now)).toMatchObject({
      points: 2,
      runs: 1,
      stressCpus: 0,
    });
  });

  it('parses durations in ms, s and m', () => {
    expect(parseDuration('2m', 'd')).toBe(120_000);
    expect(parseDuration('0.5s', 'd')).toBe(500);
    expect(parseDuration('40', 'd')).toBe(40_000);
  });
});
