// Both regions side by side, one row per service: every cell's app, Postgres and Redis as the lab
// supervisor sees them, the router's health view of the cell, and between them the route.
import type {
  LabCell,
  LabStatus,
  RegionName,
  RouterCell,
  RouterService,
  RouterStatus,
  ServiceName,
} from '../types';
import { REGIONS, SERVICES } from '../types';
import { bytes } from '../words';

const tone = (state: string | null | undefined) =>
  state === 'down' || state === 'absent'
    ? 'bad'
    : state === 'frozen' || state === 'suspect' || state === 'suspected'
      ? 'warn'
      : state
        ? 'good'
        : 'unknown';

function syncState(cell: LabCell | undefined): string {
  const replication = cell?.postgres.replication ?? '';
  if (cell?.postgres.role === 'primary') {
    if (replication === 'no standby') return 'no standby';
    // "<standby>:<state>/<sync_state>" per standby
    return replication
      .split(', ')
      .map((r) => r.replace(':', ' ').replace('/', ', '))
      .join('; ');
  }
  return replication;
}

function Cell(props: {
  service: ServiceName;
  region: RegionName;
  lab: LabCell | undefined;
  router: RouterCell | undefined;
  isPrimary: boolean;
  activeActive: boolean;
}) {
  const { lab, router, region, service } = props;
  const roleWord = props.activeActive ? (props.isPrimary ? 'own writes' : 'not routed') : null;
  const health = router?.status ?? 'unknown';
  return (
    <section
      class={`cell ${props.isPrimary ? 'primary' : 'standby'} tone-${tone(health)}`}
      aria-label={`${service} ${region}`}
      data-testid={`cell-${service}-${region}`}
    >
      <header>
        <strong>{region}</strong>
        <span class={`badge tone-${props.isPrimary ? 'good' : 'info'}`}>
          {roleWord ?? (props.isPrimary ? 'primary' : 'standby')}
        </span>
        <span class={`badge tone-${tone(health)}`} title="the router's health view of this cell">
          {health}
        </span>
        {router?.fenced && <span class="badge tone-bad">fenced</span>}
        <span class="epoch">epoch {router?.epoch ?? '—'}</span>
      </header>
      <dl>
        <dt>app</dt>
        <dd class={`tone-${tone(lab?.app.state)}`}>
          {lab?.app.state ?? '—'}
          {lab && lab.app.restarts > 0 ? ` (${lab.app.restarts} restarts)` : ''}
          {router?.role && health !== 'down' ? ` · says ${router.role}` : ''}
        </dd>
        <dt>Postgres</dt>
        <dd class={`tone-${tone(lab?.postgres.role)}`}>
          {lab?.postgres.role ?? '—'}
          {lab?.postgres.role === 'standby' ? ` · lag ${bytes(lab.postgres.lagBytes)}` : ''}
          {lab?.postgres.role === 'primary' || lab?.postgres.role === 'standby' ? ` · ${syncState(lab)}` : ''}
        </dd>
        <dt>Redis</dt>
        <dd class={`tone-${tone(lab?.redis.role)}`}>
          {lab?.redis.role ?? '—'}
          {lab && (lab.redis.role === 'master' || lab.redis.role === 'replica') ? ` · ${lab.redis.link}` : ''}
        </dd>
      </dl>
    </section>
  );
}

function Route(props: { service: ServiceName; status: RouterService | undefined }) {
  const s = props.status;
  if (!s) return <div class="route tone-unknown">no route</div>;
  if (s.topology === 'active-active') {
    const active = s.active ?? [];
    return (
      <div class={`route tone-${s.serving ? 'good' : 'bad'}`}>
        <div class="service-name">{props.service}</div>
        <div class="arrow" aria-hidden="true">
          {active.includes('dc-a') ? '◀━' : ''}
          {active.includes('dc-b') ? '━▶' : ''}
        </div>
        <div>
          to <strong data-testid={`route-${props.service}`}>{active.join(' + ') || 'nowhere'}</strong>
        </div>
        <div class="small">active-active · each room to its home region · epoch {s.epoch}</div>
      </div>
    );
  }
  const arrow = s.primary === 'dc-a' ? '◀' : '▶';
  return (
    <div class={`route tone-${s.serving ? 'good' : 'bad'}`}>
      <div class="service-name">{props.service}</div>
      <div class="arrow" aria-hidden="true">
        {s.primary === 'dc-a' ? `${arrow}━━` : `━━${arrow}`}
      </div>
      <div>
        to <strong data-testid={`route-${props.service}`}>{s.primary}</strong>
      </div>
      <div class="small">
        epoch {s.epoch} · {s.mode}
        {s.serving ? '' : ' · failing over'}
        {s.rpoGuaranteeSuspended ? ' · RPO 0 suspended' : ''}
      </div>
    </div>
  );
}

export function Topology(props: { router: RouterStatus | null; lab: LabStatus | null; faults: string[] }) {
  return (
    <section class="panel topology" aria-labelledby="topology-title">
      <h2 id="topology-title">Regions</h2>
      <div class="grid-topology">
        <div class="region-title">dc-a</div>
        <div class="region-title center">router (edge)</div>
        <div class="region-title">dc-b</div>
        {SERVICES.map((service) => {
          const status = props.router?.services[service];
          const [a, b] = REGIONS.map((region) => (
            <Cell
              key={region}
              service={service}
              region={region}
              lab={props.lab?.cells.find((c) => c.service === service && c.region === region)}
              router={status?.cells[region]}
              isPrimary={
                status?.topology === 'active-active'
                  ? (status.active ?? []).includes(region)
                  : status?.primary === region
              }
              activeActive={status?.topology === 'active-active'}
            />
          ));
          return [a, <Route key={`${service}-route`} service={service} status={status} />, b];
        })}
      </div>
      <div class="faults" aria-live="polite">
        <h3>Active faults</h3>
        {props.faults.length === 0 ? (
          <p class="small">none</p>
        ) : (
          <ul data-testid="faults">
            {props.faults.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
