// Active-active: which region a request goes to. Each room has a home region (the contract's
// homeRegion, the same rule in every router) and all of the room's traffic goes there while it
// serves, so the two regions only write one room at the same time around a region loss; when the
// home region is not in the route, the request goes to a region that is (no promotion needed).
import { homeRegion, type RegionName } from '@failover-lab/contracts';

/** The key a path is homed by: the room for /…/rooms/<room>/…, else the whole path. */
export function homeKey(path: string): string {
  const match = /\/rooms\/([^/?]+)/.exec(path);
  if (!match) return path;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1]!; // not valid percent-encoding: the cell answers 400; any region will do
  }
}

/** The request's home region when it serves, else the first region that does; null when none. */
export function pickRegion(active: readonly RegionName[], path: string): RegionName | null {
  const home = homeRegion(homeKey(path));
  if (active.includes(home)) return home;
  return active[0] ?? null;
}
