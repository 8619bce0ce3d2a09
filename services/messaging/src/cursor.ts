// Paging cursors are opaque to clients (they must not do arithmetic on them) but are just the
// message's bigserial `seq`, versioned so the format can change without breaking old cursors silently.
const PREFIX = 'v1.';

export function encodeCursor(seq: string | bigint): string {
  return Buffer.from(`${PREFIX}${seq}`, 'utf8').toString('base64url');
}

/** The seq inside a cursor, or null when the cursor is not one we issued. */
export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return null;
  const seq = text.slice(PREFIX.length);
  // bigint range of a Postgres bigserial: 1 .. 2^63-1
  if (!/^[0-9]{1,19}$/.test(seq) || BigInt(seq) > 9223372036854775807n) return null;
  return seq;
}
