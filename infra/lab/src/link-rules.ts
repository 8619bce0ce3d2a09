// The iptables chains the links process keeps for a lab's links at rest (infra/links/src/kernel.ts,
// docs/links.md "Links at rest"): named by the lab's subnet, so labs side by side never touch each
// other's rules. The links process removes them when it stops; a links process that was killed
// leaves them behind, so `lab up` and `lab down` sweep this subnet's chains too. (The lab may not
// import the links package, hence this small twin of its sweep.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The chain prefix of a lab's links (`-O` holds the DNATs, `-P` the SNATs). */
export const kernelChain = (subnet: number) => `FLAB-L${subnet}`;

/** `LAB_LINKS_KERNEL=0`: every link crosses the proxy even at rest (to compare, or to rule it out). */
export const kernelForwardingWanted = (env: NodeJS.ProcessEnv = process.env) => env.LAB_LINKS_KERNEL !== '0';

/** Removes every rule of this subnet's links chains; quiet when there are none or no iptables. */
export async function sweepKernelRules(subnet: number): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const chain = kernelChain(subnet);
  for (const [parent, sub] of [
    ['OUTPUT', `${chain}-O`],
    ['POSTROUTING', `${chain}-P`],
  ] as const) {
    const rules = await run('iptables', ['-w', '5', '-t', 'nat', '-S', parent]).catch(() => ({ stdout: '' }));
    for (const rule of rules.stdout.split('\n')) {
      if (!rule.startsWith('-A ') || !rule.endsWith(`-j ${sub}`)) continue;
      await run('iptables', [
        '-w',
        '5',
        '-t',
        'nat',
        '-D',
        parent,
        ...rule.slice(3).split(' ').slice(1),
      ]).catch(() => {});
    }
    await run('iptables', ['-w', '5', '-t', 'nat', '-F', sub]).catch(() => {});
    await run('iptables', ['-w', '5', '-t', 'nat', '-X', sub]).catch(() => {});
  }
}
