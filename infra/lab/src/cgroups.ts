// A cgroup v2 group per lab process, so that killing a component (a whole region: one per component
// in it) is one write to its `cgroup.kill`: the kernel SIGKILLs every process in the group, forks in
// flight included. The /proc path (process.ts, signalFamilies) must first stop the leaders so they
// cannot fork, scan /proc for their families (Postgres backends lead sessions of their own and are
// found only by their parent), then signal each pid; the region is half dead while it scans.
//
// A process is moved into its group as soon as it is tracked (spawn is synchronous, so it has had
// microseconds to fork), then its children are walked and moved too, until a walk finds none left
// outside: from then on every descendant is born in the group. Nothing here is needed for
// correctness: where no writable cgroup2 hierarchy with `cgroup.kill` exists (kernel < 5.14, a
// container without one), or a process could not be moved, its kill takes the /proc path.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the cgroup2 hierarchy is mounted (the unified one beside v1 controllers, or the only one). */
function cgroup2Mount(): string | null {
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [, mountPoint, type] = line.split(' ');
      if (type === 'cgroup2' && mountPoint) return mountPoint;
    }
  } catch {
    // no /proc/self/mounts: not Linux
  }
  return null;
}

/** This process's own group in the cgroup2 hierarchy ("0::/path" in /proc/self/cgroup). */
function ownGroup(): string | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line ? line.slice(3) : null;
  } catch {
    return null;
  }
}

const safeName = (name: string) => name.replace(/[^a-zA-Z0-9_.-]/g, '_');

export class LabCgroups {
  private constructor(private readonly base: string) {}

  /**
   * The lab's groups, below this process's own group, named after the state dir (two labs on one
   * machine never share one). Null where cgroup.kill is not available.
   */
  static open(stateDir: string): LabCgroups | null {
    if (process.platform !== 'linux') return null;
    const mount = cgroup2Mount();
    const own = ownGroup();
    if (!mount || own === null) return null;
    const base = join(
      mount,
      own,
      `failover-lab-${createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`,
    );
    try {
      mkdirSync(base, { recursive: true });
      // cgroup.kill exists in every non-root group of a kernel that has it (5.14+)
      if (!existsSync(join(base, 'cgroup.kill'))) {
        rmdirSync(base);
        return null;
      }
      return new LabCgroups(base);
    } catch {
      return null;
    }
  }

  /**
   * Moves `pid` and every descendant into the group named `id` (created if need be); the group's dir,
   * or null if a move failed (the caller's kill then takes the /proc path).
   */
  adopt(id: string, pid: number): string | null {
    const dir = join(this.base, safeName(id));
    try {
      mkdirSync(dir, { recursive: true });
      const procs = join(dir, 'cgroup.procs');
      // the leader first: what it forks from now on is born inside
      writeFileSync(procs, String(pid));
      // then what it forked before the move, down the tree, until a walk finds nothing new
      const moved = new Set([pid]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const parent of [...moved]) {
          for (const child of childrenOf(parent)) {
            if (moved.has(child)) continue;
            writeFileSync(procs, String(child));
            moved.add(child);
            grew = true;
          }
        }
      }
      return dir;
    } catch {
      // the process may have exited meanwhile, or the group cannot be written: the /proc path then
      return null;
    }
  }

  /** SIGKILL to every process in the group, by the kernel, at once. */
  kill(dir: string): void {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  }

  /** Some process in the group has not exited yet (zombies have). */
  populated(dir: string): boolean {
    try {
      return /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));
    } catch {
      return false;
    }
  }

  /** Removes the lab's groups (only empty ones can be: call once every process has exited). */
  remove(): void {
    // a group that still holds a process stays (and the base with it): the next lab of this state dir
    // reuses them
    const quietly = (dir: string) => {
      try {
        rmdirSync(dir);
      } catch {}
    };
    try {
      for (const entry of readdirSync(this.base, { withFileTypes: true })) {
        if (entry.isDirectory()) quietly(join(this.base, entry.name));
      }
    } catch {}
    quietly(this.base);
  }
}

/** Direct children of a process, from every one of its threads' `children` file. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
          if (c.trim()) children.push(Number(c));
        }
      } catch {
        // the thread exited
      }
    }
  } catch {
    // the process exited
  }
  return children;
}
