import { randomBytes } from 'node:crypto';
import { request } from 'undici';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last: ${lastError})` : ''}`,
  );
}

export function assertLoopback(host: string): string {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) throw new Error(`not a loopback address: ${host}`);
  return host;
}

/** GET on a loopback URL: status and parsed JSON (null when the body is not JSON). */
export async function getJson(
  url: string,
  opts: { timeoutMs?: number; token?: string } = {},
): Promise<{ status: number; body: unknown }> {
  assertLoopback(new URL(url).hostname);
  const res = await request(url, {
    method: 'GET',
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const text = await res.body.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.statusCode, body };
}

/** A password for one run only; it lives in a 0600 file and in memory, never in argv or output. */
export const newSecret = () => randomBytes(18).toString('base64url');

export const seconds = (ms: number | null) => (ms === null ? 'n/r' : `${(ms / 1000).toFixed(2)} s`);
