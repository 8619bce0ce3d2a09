// The controller's events in plain words, for people watching a failover for the first time.
import type { ControllerEvent } from './types';

const other = (region: string) => (region === 'dc-a' ? 'dc-b' : 'dc-a');

export function describeEvent(e: ControllerEvent): string {
  const detail = e.detail ? ` (${e.detail})` : '';
  switch (e.type) {
    case 'suspected':
      return `${e.service}: ${e.region} missed a health check; the router watches it closely (traffic still goes there)`;
    case 'confirmed_down':
      return `${e.service}: ${e.region} is confirmed down (several health checks in a row failed)`;
    case 'promote_started':
      return `${e.service}: promoting ${e.region} to primary at epoch ${e.epoch}${detail}`;
    case 'promoted':
      return `${e.service}: ${e.region} is the primary now (epoch ${e.epoch})`;
    case 'routed':
      return `${e.service}: traffic goes to ${e.region} (epoch ${e.epoch})${promotionSteps(e.steps)}`;
    case 'fenced':
      return `${e.service}: ${e.region} is fenced: it refuses writes, so it cannot split the brain`;
    case 'degraded_async':
      return `${e.service}: no synchronous standby: commits in ${e.region} no longer wait for a copy (RPO 0 suspended)${detail}`;
    case 'sync_restored':
      return `${e.service}: the standby in ${other(e.region)} is synchronous again (RPO 0 restored)`;
    case 'recovered':
      return `${e.service}: ${e.region} answers its health checks again`;
    case 'failover_refused':
      return `${e.service}: the router did not fail over to ${other(e.region)}${detail}`;
    default:
      return `${e.service}: ${e.type} ${e.region}${detail}`;
  }
}

// The steps a person watching can tell apart; the rest (epoch writes, the cell's own) stay in the report.
const STEP_WORDS: Array<[string, string]> = [
  ['probeMs', 'noticed'],
  ['decideMs', 'decided'],
  ['pgPromoteMs', 'Postgres promoted'],
  ['redisMs', 'Redis promoted'],
  ['routeMs', 'routed'],
];

function promotionSteps(steps: Record<string, number> | undefined): string {
  if (!steps) return '';
  const words = STEP_WORDS.filter(([key]) => typeof steps[key] === 'number').map(
    ([key, word]) => `${word} in ${Math.round(steps[key]!)} ms`,
  );
  return words.length > 0 ? `: ${words.join(', ')}` : '';
}

/** how serious an event is, for its colour */
export function eventTone(type: string): 'bad' | 'good' | 'warn' | 'info' {
  if (type === 'confirmed_down' || type === 'failover_refused') return 'bad';
  if (type === 'routed' || type === 'promoted' || type === 'recovered' || type === 'sync_restored')
    return 'good';
  if (type === 'degraded_async' || type === 'fenced') return 'warn';
  return 'info';
}

export const clock = (at: string | number) =>
  new Date(at).toLocaleTimeString('en-GB', {
    hour12: false,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export const ms = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`;
