// The console is protected by the lab's token (the control token in the state dir's 0600
// secrets.json; CONSOLE_TOKEN under compose). The browser keeps it in memory only and sends it as a
// bearer header: never in a URL the server sees, a cookie or a log line.
import { createHash, timingSafeEqual } from 'node:crypto';

export function bearerMatches(expected: string | undefined, header: string | undefined): boolean {
  if (!expected) return false;
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '');
  if (!match) return false;
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(match[1]!).digest();
  return timingSafeEqual(a, b);
}
