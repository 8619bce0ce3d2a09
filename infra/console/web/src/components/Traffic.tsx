// The console's own load: the drill's workload without a fault, so there is something to watch.
// Its counts are what the clients saw (the charts show what the router saw).
import { useState } from 'preact/hooks';
import type { Api } from '../api';
import type { TrafficState } from '../types';
import { SERVICES } from '../types';
import type { ActionRunner } from './Controls';

export function Traffic(props: {
  api: Api;
  traffic: TrafficState | null;
  available: boolean;
  runner: ActionRunner;
}) {
  const [rate, setRate] = useState(20);
  const t = props.traffic;
  const active = t !== null && (t.state === 'starting' || t.state === 'running' || t.state === 'stopping');
  const totals = t
    ? SERVICES.reduce(
        (acc, s) => ({
          sent: acc.sent + t.services[s].sent,
          ok: acc.ok + t.services[s].ok,
          failed: acc.failed + t.services[s].failed,
        }),
        { sent: 0, ok: 0, failed: 0 },
      )
    : null;
  const row = (label: string, key: 'sent' | 'failed') => (
    <tr>
      <th scope="row">{label}</th>
      {SERVICES.map((s) => (
        <td
          key={s}
          data-testid={key === 'failed' ? `traffic-failed-${s}` : undefined}
          class={key === 'failed' && t && t.services[s].failed > 0 ? 'tone-bad' : ''}
        >
          {t ? t.services[s][key] : 0}
        </td>
      ))}
      <td data-testid={key === 'failed' ? 'traffic-failed-total' : undefined}>{totals ? totals[key] : 0}</td>
    </tr>
  );
  return (
    <fieldset class="traffic">
      <legend>Console traffic</legend>
      <div class="row">
        <label>
          Requests/s{' '}
          <input
            type="number"
            min={1}
            max={100}
            value={rate}
            disabled={active || !props.available}
            onInput={(e) => setRate(Number((e.target as HTMLInputElement).value))}
          />
        </label>
        {active ? (
          <button
            type="button"
            disabled={t?.state === 'stopping'}
            onClick={() =>
              void props.runner.run('stop traffic', () => props.api.post('/api/traffic', { action: 'stop' }))
            }
          >
            Stop traffic
          </button>
        ) : (
          <button
            type="button"
            disabled={!props.available || props.runner.busy !== null}
            onClick={() =>
              void props.runner.run('start traffic', () =>
                props.api.post('/api/traffic', { action: 'start', ratePerSec: rate }),
              )
            }
          >
            Start traffic
          </button>
        )}
        <span class="small" data-testid="traffic-state">
          {t ? t.state : 'idle'}
          {t?.state === 'starting' ? ' (signing up users)' : ''}
        </span>
      </div>
      {!props.available && (
        <p class="note">The console's traffic needs the local lab (loopback addresses).</p>
      )}
      {t?.error && (
        <p class="error" role="alert">
          {t.error}
        </p>
      )}
      <table class="numbers compact">
        <caption class="sr-only">
          Requests the console's traffic sent since it started, as its clients saw them
        </caption>
        <thead>
          <tr>
            <td />
            {SERVICES.map((s) => (
              <th key={s} scope="col">
                {s}
              </th>
            ))}
            <th scope="col">all</th>
          </tr>
        </thead>
        <tbody>
          {row('sent', 'sent')}
          {row('failed', 'failed')}
        </tbody>
      </table>
      {t?.recordsFile && <p class="small">every request: drill-out/{t.recordsFile}</p>}
    </fieldset>
  );
}
