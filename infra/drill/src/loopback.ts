// Hard rule of the project: nothing outside 127.0.0.0/8 is ever a target.
export function assertLoopbackUrl(url: string): URL {
  const parsed = new URL(url);
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(parsed.hostname)) {
    throw new Error(`refusing to target ${parsed.hostname}: only 127.0.0.0/8 addresses are allowed`);
  }
  return parsed;
}
