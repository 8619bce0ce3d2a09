// Run a drill (the drill CLI, on this lab) with live progress, and read every drill report there is.
import { useRef, useState } from 'preact/hooks';
import type { Api } from '../api';
import type { DrillRun, DrillSummary, Session } from '../types';
import { SERVICES } from '../types';
import { clock, ms } from '../words';
import type { ConfirmRequest } from './Confirm';
import type { ActionRunner } from './Controls';

function Progress(props: { run: DrillRun }) {
  const { run } = props;
  const total = run.request.warmupS + run.request.durationS;
  const elapsed = run.progress?.elapsedS ?? 0;
  return (
    <div class="drill-run" aria-live="polite" data-testid="drill-run">
      <p>
        <strong>{run.request.scenario}</strong>{' '}
        <span
          class={`badge tone-${run.state === 'passed' ? 'good' : run.state === 'running' ? 'info' : 'bad'}`}
        >
          {run.state === 'running'
            ? 'running'
            : run.state === 'passed'
              ? 'PASS'
              : run.state === 'failed'
                ? 'FAIL'
                : 'could not run'}
        </span>{' '}
        {run.state === 'running' &&
          (run.progress
            ? `${run.progress.phase}, ${elapsed.toFixed(0)} of ~${total} s of load`
            : 'waiting for steady state and signing up its users')}
      </p>
      {run.state === 'running' && (
        <progress max={total} value={Math.min(elapsed, total)} aria-label="drill load progress" />
      )}
      {run.progress && (
        <p class="small">
          {SERVICES.map((s) => {
            const c = run.progress?.services[s];
            return c ? `${s} ${c.ok} ok / ${c.failed} failed` : null;
          })
            .filter(Boolean)
            .join(' · ')}
          {` · ${run.progress.reqPerSec} req/s`}
        </p>
      )}
      {run.log.length > 0 && (
        <details open={run.state !== 'running'}>
          <summary>Drill output</summary>
          <pre class="log">{run.log.slice(-25).join('\n')}</pre>
        </details>
      )}
    </div>
  );
}

export function Drills(props: {
  api: Api;
  session: Session;
  drill: DrillRun | null;
  history: DrillSummary[];
  runner: ActionRunner;
  confirm: (r: ConfirmRequest) => Promise<boolean>;
}) {
  const { session, api } = props;
  const limits = session.drillLimits;
  const [scenario, setScenario] = useState(session.scenarios[0]?.name ?? 'region-kill');
  const [warmupS, setWarmup] = useState(limits.warmupS.default);
  const [durationS, setDuration] = useState(limits.durationS.default);
  const [ratePerSec, setRate] = useState(limits.ratePerSec.default);
  const [users, setUsers] = useState(limits.users.default);
  const [report, setReport] = useState<{ id: string; html: string } | null>(null);
  const [reportError, setReportError] = useState<string | null>(null);
  const viewer = useRef<HTMLDialogElement>(null);
  const running = props.drill?.state === 'running';
  const available = session.capabilities.drills;
  const summary = session.scenarios.find((s) => s.name === scenario)?.summary ?? '';

  const start = async () => {
    const ok = await props.confirm({
      title: `Run drill ${scenario}?`,
      body: `${summary}. Under ${ratePerSec} req/s of load: ${warmupS} s before the fault, ${durationS} s after; then every acknowledged write is audited and the lab is returned to steady state (the faulted region restored).`,
      confirmLabel: `Confirm: run ${scenario}`,
    });
    if (!ok) return;
    await props.runner.run(`run drill ${scenario}`, () =>
      api.post('/api/drills', { scenario, warmupS, durationS, ratePerSec, users }),
    );
  };

  const open = async (id: string) => {
    setReportError(null);
    try {
      const html = await api.text(`/api/drills/report?id=${encodeURIComponent(id)}`);
      setReport({ id, html });
      queueMicrotask(() => viewer.current?.showModal());
    } catch (err) {
      setReportError(`could not open the report of ${id}: ${(err as Error).message}`);
    }
  };

  const numberInput = (
    label: string,
    value: number,
    set: (n: number) => void,
    l: { min: number; max: number },
  ) => (
    <label>
      {label}{' '}
      <input
        type="number"
        min={l.min}
        max={l.max}
        value={value}
        disabled={running || !available}
        onInput={(e) => set(Number((e.target as HTMLInputElement).value))}
      />
    </label>
  );

  return (
    <section class="panel drills" aria-labelledby="drills-title">
      <h2 id="drills-title">Drills</h2>
      {!available && (
        <p class="note">
          Running a drill needs the lab supervisor; under compose run it on the host (
          <code>npm run drill -- --backend compose</code>). Reports in drill-out are listed below.
        </p>
      )}
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <label>
          Scenario{' '}
          <select
            value={scenario}
            disabled={running || !available}
            onChange={(e) => setScenario((e.target as HTMLSelectElement).value)}
          >
            {session.scenarios.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        {numberInput('Warm-up s', warmupS, setWarmup, limits.warmupS)}
        {numberInput('Load after fault s', durationS, setDuration, limits.durationS)}
        {numberInput('Requests/s', ratePerSec, setRate, limits.ratePerSec)}
        {numberInput('Users', users, setUsers, limits.users)}
        <button type="submit" class="danger" disabled={running || !available || props.runner.busy !== null}>
          Run drill
        </button>
      </form>
      <p class="small">{summary}</p>
      {props.drill && <Progress run={props.drill} />}
      {reportError && (
        <p class="error" role="alert">
          {reportError}
        </p>
      )}
      <h3>History</h3>
      {props.history.length === 0 ? (
        <p class="small">No reports in drill-out yet.</p>
      ) : (
        <div class="scroll">
          <table class="numbers history" data-testid="history">
            <thead>
              <tr>
                <th scope="col">fault at</th>
                <th scope="col">scenario</th>
                <th scope="col">verdict</th>
                <th scope="col">failed</th>
                <th scope="col">max stall</th>
                <th scope="col">report</th>
              </tr>
            </thead>
            <tbody>
              {props.history.map((d) => {
                const services = Object.values(d.services);
                const failed = services.reduce((a, s) => a + (s?.failed ?? 0), 0);
                const stall = Math.max(0, ...services.map((s) => s?.maxStallMs ?? 0));
                return (
                  <tr key={d.id} data-id={d.id}>
                    <td>
                      <time dateTime={d.fault.injectedAt} title={d.fault.injectedAt}>
                        {new Date(d.fault.injectedAt).toLocaleDateString('en-GB')} {clock(d.fault.injectedAt)}
                      </time>
                    </td>
                    <td>{d.scenario}</td>
                    <td class={d.verdict === 'pass' ? 'tone-good' : 'tone-bad'}>{d.verdict.toUpperCase()}</td>
                    <td>{failed}</td>
                    <td>{ms(stall)}</td>
                    <td>
                      <button type="button" disabled={!d.hasHtml} onClick={() => void open(d.id)}>
                        Open report {d.scenario} {clock(d.fault.injectedAt)}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <dialog ref={viewer} class="report-viewer" aria-label="drill report" onClose={() => setReport(null)}>
        <div class="row between">
          <strong>{report?.id}</strong>
          <button type="button" onClick={() => viewer.current?.close()}>
            Close report
          </button>
        </div>
        {/* sandbox without allow-scripts: the report is inert HTML and SVG */}
        {report && <iframe title={`drill report ${report.id}`} sandbox="" srcdoc={report.html} />}
      </dialog>
    </section>
  );
}
