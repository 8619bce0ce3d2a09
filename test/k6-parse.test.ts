// The k6 JSON parser (infra/drill/src/k6/parse.ts) on a real k6 v0.48.0 output (copied from
// a real run, kept in test/fixtures/k6 with its README) and on output shaped like loadtests/*.js produce.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseK6File, parseRfc3339Ms, readK6Records } from '../infra/drill/src/k6/parse';
import type { RequestRecord } from '../infra/drill/src/records';
import { repoPath } from './helpers/repo';

const SAMPLE = repoPath('test', 'fixtures', 'k6', 'failover-output.jsonl');
const SUMMARY = readFileSync(repoPath('test', 'fixtures', 'k6', 'failover-summary.txt'), 'utf8');

interface Point {
  type: string;
  metric: string;
  data: { time: string; value: number; tags: Record<string, string> };
}
const samplePoints = readFileSync(SAMPLE, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Point)
  .filter((p) => p.type === 'Point');
const sampleRequests = samplePoints.filter((p) => p.metric === 'http_reqs');

describe('the real k6 v0.48.0 sample', () => {
  it('yields one record per request, as many as k6 itself counted', async () => {
    const { records, stats } = await parseK6File(SAMPLE);
    const k6Count = Number(/http_reqs\.*: (\d+)/.exec(SUMMARY)![1]);
    expect(records).toHaveLength(k6Count);
    expect(records).toHaveLength(sampleRequests.length);
    expect(stats.malformedLines).toBe(0);
    expect(stats.untaggedRequests).toBe(0);
  });

  it('agrees with k6 on what failed: ok = the summary’s passed checks, the rest failed', async () => {
    const { records } = await parseK6File(SAMPLE);
    const [, passed, failed] = /✓ (\d+)\s*\/\s*✗ (\d+)/.exec(SUMMARY)!;
    expect(records.filter((r) => r.ok)).toHaveLength(Number(passed));
    expect(records.filter((r) => !r.ok)).toHaveLength(Number(failed));
    const failedRate = Number(/http_req_failed\.*: ([\d.]+)%/.exec(SUMMARY)![1]);
    expect((100 * records.filter((r) => !r.ok).length) / records.length).toBeCloseTo(failedRate, 1);
  });

  it('status 0 (refused) is a failure with ECONNREFUSED; HTTP answers keep their status', async () => {
    const { records } = await parseK6File(SAMPLE);
    const refusedInFile = sampleRequests.filter((p) => p.data.tags.status === '0');
    const refused = records.filter((r) => r.status === 0);
    expect(refused).toHaveLength(refusedInFile.length);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    for (const r of records.filter((r) => r.status === 503))
      expect(r).toMatchObject({ ok: false, error: 'HTTP_503' });
    for (const r of records.filter((r) => r.ok)) expect(r).toMatchObject({ status: 201, error: null });
  });

  it('tags become service, op and writeId; every wid once', async () => {
    const { records } = await parseK6File(SAMPLE);
    expect(new Set(records.map((r) => `${r.service}/${r.op}`))).toEqual(new Set(['payments/transfer']));
    expect(records.map((r) => r.writeId).sort()).toEqual(sampleRequests.map((p) => p.data.tags.wid).sort());
  });

  it('time is the END; start = end − (blocked + connecting + tls + duration), to the microsecond (epoch ms as a double holds ~0.25 µs)', async () => {
    const { records } = await parseK6File(SAMPLE);
    // the first request of the run opened a connection, so every component is non-zero
    const wid = sampleRequests[0]!.data.tags.wid!;
    const of = (metric: string) => samplePoints.find((p) => p.metric === metric && p.data.tags.wid === wid)!;
    const [blocked, connecting, tls, duration] = [
      'http_req_blocked',
      'http_req_connecting',
      'http_req_tls_handshaking',
      'http_req_duration',
    ].map((m) => of(m).data.value);
    expect(connecting).toBeGreaterThan(0);
    const record = records.find((r) => r.writeId === wid)!;
    const end = parseRfc3339Ms(of('http_reqs').data.time);
    expect(record.endMs).toBeCloseTo(end, 3);
    expect(record.startMs).toBeCloseTo(end - blocked! - connecting! - tls! - duration!, 3);
    for (const r of records) expect(r.endMs).toBeGreaterThanOrEqual(r.startMs);
  });

  it('sorted by start; streaming with a tiny window gives the same records', async () => {
    const { records } = await parseK6File(SAMPLE);
    for (let i = 1; i < records.length; i++)
      expect(records[i]!.startMs).toBeGreaterThanOrEqual(records[i - 1]!.startMs);
    const streamed: RequestRecord[] = [];
    for await (const r of readK6Records(SAMPLE, { window: 2 })) streamed.push(r);
    const key = (r: RequestRecord) => `${r.writeId}|${r.startMs}`;
    expect(streamed.map(key).sort()).toEqual(records.map(key).sort());
  });
});

describe('parseRfc3339Ms', () => {
  it('keeps nanosecond digits as fractions of a millisecond and honours offsets', () => {
    expect(parseRfc3339Ms('2026-11-21T23:34:49.46314365Z')).toBeCloseTo(
      Date.UTC(2026, 10, 21, 23, 34, 49) + 463.14365,
      3,
    );
    expect(parseRfc3339Ms('2026-11-22T01:34:49.5+02:00')).toBeCloseTo(
      Date.UTC(2026, 10, 21, 23, 34, 49, 500),
      3,
    );
    expect(parseRfc3339Ms('2026-11-21T23:34:49Z')).toBe(Date.UTC(2026, 10, 21, 23, 34, 49));
    expect(parseRfc3339Ms('yesterday')).toBeNaN();
  });
});

// ---- output shaped like loadtests/lib/failover-lab.js ------------------------------------------
// Built line by line the way k6 v0.48 writes them (compare test/fixtures/k6/failover-output.jsonl):
// the same metric set per request, the same system tags, plus the project's tags and checks.

interface FakeRequest {
  time: string;
  service: string;
  op: string;
  wid?: string;
  status: number;
  expected: boolean;
  timings: { blocked: number; connecting: number; duration: number };
  transportError?: { error: string; code: string };
  check?: Record<string, string>;
}

function k6Lines(req: FakeRequest): string[] {
  const tags: Record<string, string> = {
    expected_response: String(req.expected),
    group: '',
    method: req.wid ? 'POST' : 'GET',
    name: `http://router:8080/${req.service}/x`,
    op: req.op,
    ...(req.status !== 0 ? { proto: 'HTTP/1.1' } : {}),
    scenario: req.service,
    service: req.service,
    status: String(req.status),
    url: `http://router:8080/${req.service}/x`,
    ...(req.wid ? { wid: req.wid } : {}),
    ...(req.transportError ? { error: req.transportError.error, error_code: req.transportError.code } : {}),
  };
  const point = (metric: string, value: number, t = tags, time = req.time) =>
    JSON.stringify({ metric, type: 'Point', data: { time, value, tags: t } });
  const lines = [
    point('http_reqs', 1),
    point('http_req_duration', req.timings.duration),
    point('http_req_blocked', req.timings.blocked),
    point('http_req_connecting', req.timings.connecting),
    point('http_req_tls_handshaking', 0),
    point('http_req_sending', 0.05),
    point('http_req_waiting', req.timings.duration - 0.1),
    point('http_req_receiving', 0.05),
    point('http_req_failed', req.expected ? 0 : 1),
  ];
  if (req.check) {
    lines.push(
      point(
        'checks',
        req.expected ? 1 : 0,
        { check: `${req.op} acknowledged`, group: '', scenario: req.service, ...req.check },
        req.time.replace(/\d{3}Z$/, '999Z'),
      ),
    );
  }
  return lines;
}

describe('output shaped like the project’s scripts (loadtests/)', () => {
  let dir: string;
  let file: string;
  const requests: FakeRequest[] = [
    {
      // a payments transfer served by dc-a
      time: '2026-11-22T10:00:00.100000000Z',
      service: 'payments',
      op: 'transfer',
      wid: 'r1-payments-1-0',
      status: 201,
      expected: true,
      timings: { blocked: 0.2, connecting: 0.3, duration: 4.5 },
      check: {
        service: 'payments',
        op: 'transfer',
        wid: 'r1-payments-1-0',
        served_by: 'dc-a',
        d_from: 'k6-acc-1',
        d_to: 'k6-acc-2',
        d_amount: '17',
      },
    },
    {
      // a messaging read (no wid, no check), interleaved between writes
      time: '2026-11-22T10:00:00.101000000Z',
      service: 'messaging',
      op: 'read',
      status: 200,
      expected: true,
      timings: { blocked: 0, connecting: 0, duration: 2 },
    },
    {
      // a transfer refused by a fenced cell during the failover: the body's code comes with the check
      time: '2026-11-22T10:00:01.000000000Z',
      service: 'payments',
      op: 'transfer',
      wid: 'r1-payments-2-0',
      status: 503,
      expected: false,
      timings: { blocked: 0, connecting: 0, duration: 1.5 },
      check: {
        service: 'payments',
        op: 'transfer',
        wid: 'r1-payments-2-0',
        served_by: 'dc-a',
        err: 'PAY_ERR_FENCED',
        d_from: 'k6-acc-3',
        d_to: 'k6-acc-4',
        d_amount: '5',
      },
    },
    {
      // insufficient funds: a business answer, expected (responseCallback allows 409)
      time: '2026-11-22T10:00:01.500000000Z',
      service: 'payments',
      op: 'transfer',
      wid: 'r1-payments-3-0',
      status: 409,
      expected: true,
      timings: { blocked: 0, connecting: 0, duration: 3 },
      check: {
        service: 'payments',
        op: 'transfer',
        wid: 'r1-payments-3-0',
        served_by: 'dc-b',
        err: 'PAY_ERR_INSUFFICIENT_FUNDS',
        d_from: 'k6-acc-5',
        d_to: 'k6-acc-6',
        d_amount: '99',
      },
    },
    {
      // a message send that timed out in the client (k6 error 1050)
      time: '2026-11-22T10:00:02.000000000Z',
      service: 'messaging',
      op: 'send',
      wid: '6f1c9b8e-8f7a-4c3b-9d2e-1a2b3c4d5e6f',
      status: 0,
      expected: false,
      timings: { blocked: 0, connecting: 0, duration: 5000 },
      transportError: { error: 'request timeout', code: '1050' },
      check: {
        service: 'messaging',
        op: 'send',
        wid: '6f1c9b8e-8f7a-4c3b-9d2e-1a2b3c4d5e6f',
        served_by: 'none',
        err: 'K6_ERR_1050',
        d_room: 'ops',
      },
    },
    {
      // a sign-up served by dc-b after the failover
      time: '2026-11-22T10:00:03.000000000Z',
      service: 'login',
      op: 'signup',
      wid: 'k6-r1-login-4-7',
      status: 201,
      expected: true,
      timings: { blocked: 0, connecting: 0, duration: 40 },
      check: { service: 'login', op: 'signup', wid: 'k6-r1-login-4-7', served_by: 'dc-b' },
    },
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k6-parse-'));
    file = join(dir, 'k6.jsonl');
    const lines = [
      JSON.stringify({
        type: 'Metric',
        data: { name: 'http_reqs', type: 'counter', contains: 'default', thresholds: [], submetrics: null },
        metric: 'http_reqs',
      }),
      ...requests.flatMap(k6Lines),
      // the setup's account seeding (op "seed" is not a drill op) and a truncated last line
      ...k6Lines({
        time: '2026-11-22T09:59:59.000000000Z',
        service: 'payments',
        op: 'seed',
        status: 200,
        expected: true,
        timings: { blocked: 0, connecting: 0, duration: 9 },
      }),
      '{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-22T10:00:0',
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every tagged request, counts the untagged and the broken line', async () => {
    const { records, stats } = await parseK6File(file);
    expect(records).toHaveLength(requests.length);
    expect(stats.untaggedRequests).toBe(1);
    expect(stats.malformedLines).toBe(1);
    expect(stats.checksMerged).toBe(requests.filter((r) => r.check).length);
  });

  it('maps each request to the drill’s record: ok, status, error, servedBy, writeId, start', async () => {
    const { records } = await parseK6File(file);
    for (const req of requests) {
      const endMs = parseRfc3339Ms(req.time);
      const record = records.find((r) => r.endMs === endMs)!;
      expect(record, req.time).toBeDefined();
      expect(record.service).toBe(req.service);
      expect(record.op).toBe(req.op);
      expect(record.status).toBe(req.status);
      expect(record.ok).toBe(req.expected);
      expect(record.writeId).toBe(req.wid ?? null);
      expect(record.startMs).toBeCloseTo(
        endMs - req.timings.blocked - req.timings.connecting - req.timings.duration,
        3,
      );
      const servedBy = req.check?.served_by;
      expect(record.servedBy).toBe(servedBy === 'dc-a' || servedBy === 'dc-b' ? servedBy : null);
    }
    const byWid = (wid: string) => records.find((r) => r.writeId === wid)!;
    expect(byWid('r1-payments-2-0').error).toBe('PAY_ERR_FENCED'); // the body's code, from the check
    expect(byWid('r1-payments-3-0').error).toBeNull(); // an expected business answer is not an error
    expect(byWid('6f1c9b8e-8f7a-4c3b-9d2e-1a2b3c4d5e6f').error).toBe('CLIENT_TIMEOUT');
    expect(records.find((r) => r.op === 'read')!.error).toBeNull();
    // what the audit needs to read the writes back
    expect(byWid('r1-payments-1-0').detail).toEqual({ from: 'k6-acc-1', to: 'k6-acc-2', amount: 17 });
    expect(byWid('6f1c9b8e-8f7a-4c3b-9d2e-1a2b3c4d5e6f').detail).toEqual({ room: 'ops' });
    expect(byWid('k6-r1-login-4-7').detail).toBeUndefined();
    expect(records.find((r) => r.op === 'read')!.detail).toBeUndefined();
  });

  it('accepts any readable stream (e.g. k6 piped straight into the drill)', async () => {
    const text = readFileSync(file, 'utf8');
    const streamed: RequestRecord[] = [];
    for await (const r of readK6Records(Readable.from([text.slice(0, 1000), text.slice(1000)])))
      streamed.push(r);
    expect(streamed).toHaveLength(requests.length);
  });
});
