// Break it and repair it: region and component faults through the lab supervisor, a planned
// switchover through the router. Destructive actions ask first.
import { useState } from 'preact/hooks';
import type { Api } from '../api';
import type { Capabilities, ComponentName, RegionName, RouterStatus, ServiceName } from '../types';
import { COMPONENTS, REGIONS, SERVICES } from '../types';
import type { ConfirmRequest } from './Confirm';

export interface ActionRunner {
  /** runs one action, with the page's busy state and result message */
  run(label: string, work: () => Promise<unknown>): Promise<void>;
  busy: string | null;
}

const REGION_ACTIONS = [
  {
    action: 'kill',
    label: 'Kill',
    confirm: (r: string) =>
      `SIGKILL every process of ${r} at once (Postgres, Redis, apps): the fire. Services whose primary is in ${r} fail over; ${r} stays dead until you restore it.`,
  },
  {
    action: 'freeze',
    label: 'Freeze',
    confirm: (r: string) =>
      `SIGSTOP every process of ${r}: a region that hangs without closing its connections. The router fails over after its probes time out; thaw ${r} to let it run again (it comes back fenced).`,
  },
  { action: 'thaw', label: 'Thaw', confirm: null },
  {
    action: 'restore',
    label: 'Restore',
    confirm: (r: string) =>
      `Bring ${r} back: a cell whose Postgres is dead, frozen or fenced is rebuilt from the current primary (its data there is replaced) and rejoins as standby.`,
  },
] as const;

export function Controls(props: {
  api: Api;
  capabilities: Capabilities;
  router: RouterStatus | null;
  runner: ActionRunner;
  drillRunning: boolean;
  confirm: (r: ConfirmRequest) => Promise<boolean>;
}) {
  const { api, capabilities, runner } = props;
  const [region, setRegion] = useState<RegionName>('dc-a');
  const [service, setService] = useState<ServiceName>('payments');
  const [component, setComponent] = useState<ComponentName>('postgres');
  const disabled = runner.busy !== null || props.drillRunning;
  const faultsOff = !capabilities.faults;

  const regionAction = async (action: (typeof REGION_ACTIONS)[number], r: RegionName) => {
    if (action.confirm) {
      const ok = await props.confirm({
        title: `${action.label} ${r}?`,
        body: action.confirm(r),
        confirmLabel: `Confirm: ${action.label.toLowerCase()} ${r}`,
      });
      if (!ok) return;
    }
    await runner.run(`${action.label.toLowerCase()} ${r}`, () =>
      api.post('/api/faults', { action: action.action, region: r }),
    );
  };

  const componentKill = async () => {
    const what = `${service} ${component} in ${region}`;
    const ok = await props.confirm({
      title: `Kill ${what}?`,
      body:
        component === 'app'
          ? `SIGKILL the ${service} app in ${region}: a crash; the lab supervisor restarts it with backoff and the router waits for it rather than failing over.`
          : `SIGKILL ${service}'s ${component} in ${region}. It stays dead until ${region} is restored.`,
      confirmLabel: `Confirm: kill ${what}`,
    });
    if (!ok) return;
    await runner.run(`kill ${what}`, () =>
      api.post('/api/faults', { action: 'kill', region, service, component }),
    );
  };

  const switchover = async (s: ServiceName) => {
    const from = props.router?.services[s]?.primary;
    const to = from === 'dc-a' ? 'dc-b' : 'dc-a';
    const ok = await props.confirm({
      title: `Switch ${s} over to ${to}?`,
      body: `Planned, zero loss: the router holds ${s}'s traffic, fences ${from}, waits until ${to} has replayed every write, promotes ${to} and routes to it. ${from} stays fenced until you restore it.`,
      confirmLabel: `Confirm: switch ${s} to ${to}`,
    });
    if (!ok) return;
    await runner.run(`switchover ${s} to ${to}`, () => api.post('/api/switchover', { service: s, to }));
  };

  return (
    <section class="panel controls" aria-labelledby="controls-title">
      <h2 id="controls-title">Break it</h2>
      {faultsOff && (
        <p class="note">
          Faults need the lab supervisor, which this console does not have here (compose): inject them from
          the host with <code>npm run drill -- --backend compose</code> or <code>docker kill</code>.
        </p>
      )}
      {props.drillRunning && <p class="note">A drill is running: its own fault comes first.</p>}
      <table class="region-actions">
        <tbody>
          {REGIONS.map((r) => (
            <tr key={r}>
              <th scope="row">{r}</th>
              {REGION_ACTIONS.map((a) => (
                <td key={a.action}>
                  <button
                    type="button"
                    class={a.confirm ? 'danger' : ''}
                    disabled={disabled || faultsOff}
                    onClick={() => void regionAction(a, r)}
                  >
                    {a.label} {r}
                  </button>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <fieldset disabled={disabled || faultsOff}>
        <legend>One component</legend>
        <div class="row">
          <label>
            Service{' '}
            <select
              value={service}
              onChange={(e) => setService((e.target as HTMLSelectElement).value as ServiceName)}
            >
              {SERVICES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Component{' '}
            <select
              value={component}
              onChange={(e) => setComponent((e.target as HTMLSelectElement).value as ComponentName)}
            >
              {COMPONENTS.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label>
            Region{' '}
            <select
              value={region}
              onChange={(e) => setRegion((e.target as HTMLSelectElement).value as RegionName)}
            >
              {REGIONS.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <button type="button" class="danger" onClick={() => void componentKill()}>
            Kill component
          </button>
        </div>
      </fieldset>
      <fieldset disabled={disabled || !capabilities.switchover}>
        <legend>Planned switchover</legend>
        <div class="row">
          {SERVICES.map((s) => {
            const from = props.router?.services[s]?.primary;
            const to = from === 'dc-a' ? 'dc-b' : 'dc-a';
            return (
              <button key={s} type="button" disabled={!from} onClick={() => void switchover(s)}>
                Switch {s} to {to}
              </button>
            );
          })}
        </div>
      </fieldset>
      <fieldset disabled>
        <legend>Link faults</legend>
        <p class="small">
          Latency, loss and partitions between the regions come with the WAN-faults work (issue 14); their
          controls will live here.
        </p>
      </fieldset>
    </section>
  );
}
