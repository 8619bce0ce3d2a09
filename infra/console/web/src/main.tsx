import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError } from './api';
import { Charts } from './components/Charts';
import { useConfirm } from './components/Confirm';
import { type ActionRunner, Controls } from './components/Controls';
import { Drills } from './components/Drills';
import { Events } from './components/Events';
import { Login } from './components/Login';
import { Topology } from './components/Topology';
import { Traffic } from './components/Traffic';
import './style.css';
import type {
  ControllerEvent,
  DrillRun,
  DrillSummary,
  LabStatus,
  MetricsPoint,
  RouterStatus,
  Session,
  SourceView,
  StreamMessage,
  TrafficState,
} from './types';

const MAX_POINTS = 600;
const MAX_EVENTS = 500;

/** `#token=…` is read once and removed from the address bar (and so from history and bookmarks). */
function tokenFromFragment(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) return null;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  return decodeURIComponent(match[1]!);
}

interface LiveState {
  router: SourceView<RouterStatus> | null;
  lab: SourceView<LabStatus> | null;
  faults: string[];
  events: ControllerEvent[];
  points: MetricsPoint[];
  traffic: TrafficState | null;
  drill: DrillRun | null;
  history: DrillSummary[];
}

const EMPTY: LiveState = {
  router: null,
  lab: null,
  faults: [],
  events: [],
  points: [],
  traffic: null,
  drill: null,
  history: [],
};

function apply(state: LiveState, m: StreamMessage): LiveState {
  switch (m.kind) {
    case 'snapshot':
      return {
        router: m.router,
        lab: m.lab,
        faults: m.faults,
        events: m.events,
        points: m.points,
        traffic: m.traffic,
        drill: m.drill,
        history: m.history,
      };
    case 'router':
      return { ...state, router: m.router, faults: m.faults };
    case 'lab':
      return { ...state, lab: m.lab, faults: m.faults };
    case 'events':
      return { ...state, events: [...state.events, ...m.events].slice(-MAX_EVENTS) };
    case 'point':
      return { ...state, points: [...state.points, m.point].slice(-MAX_POINTS) };
    case 'traffic':
      return { ...state, traffic: m.traffic };
    case 'drill':
      return { ...state, drill: m.drill };
    case 'history':
      return { ...state, history: m.history };
  }
}

function Console(props: { api: Api; session: Session; onSignOut: (why: string | null) => void }) {
  const { api, session } = props;
  const [live, setLive] = useState<LiveState>(EMPTY);
  const [link, setLink] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ text: string; tone: 'good' | 'bad' } | null>(null);
  const [large, setLarge] = useState(false);
  const { ask, element: confirmDialog } = useConfirm();

  useEffect(() => {
    const abort = new AbortController();
    void api.stream(
      (m) => setLive((s) => apply(s, m)),
      (state) => {
        if (state === 'unauthorized')
          props.onSignOut('The lab token is no longer valid (was the lab restarted?).');
        else setLink(state);
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [api]);

  useEffect(() => {
    document.documentElement.classList.toggle('large', large);
  }, [large]);

  const runner: ActionRunner = {
    busy,
    async run(label, work) {
      setBusy(label);
      setMessage({ text: `${label}…`, tone: 'good' });
      const started = performance.now();
      try {
        await work();
        setMessage({
          text: `${label}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`,
          tone: 'good',
        });
      } catch (err) {
        const text = err instanceof ApiError ? `${err.code}: ${err.message}` : (err as Error).message;
        setMessage({ text: `${label} failed: ${text}`, tone: 'bad' });
        if (err instanceof ApiError && err.status === 401)
          props.onSignOut('The lab token is no longer valid.');
      } finally {
        setBusy(null);
      }
    },
  };

  const routerStatus = live.router?.value ?? null;
  const stale = live.router && !live.router.ok ? `router not answering: ${live.router.error}` : null;
  const labStale = live.lab && !live.lab.ok ? `lab supervisor not answering: ${live.lab.error}` : null;

  return (
    <>
      <header class="top">
        <h1>failover-lab console</h1>
        <span class={`badge tone-${link === 'live' ? 'good' : 'warn'}`} data-testid="link-state">
          {link}
        </span>
        <span class="small">
          {session.mode === 'lab'
            ? `local lab, edge ${new URL(session.edge.routerUrl).hostname}`
            : 'docker compose'}
        </span>
        <span class="spacer" />
        <p class={`message tone-${message?.tone ?? 'good'}`} role="status" aria-live="polite">
          {message?.text ?? ''}
        </p>
        <button type="button" aria-pressed={large} onClick={() => setLarge(!large)}>
          Large text
        </button>
        <button type="button" onClick={() => props.onSignOut(null)}>
          Sign out
        </button>
      </header>
      {(stale || labStale) && (
        <p class="banner tone-bad" role="alert">
          {[stale, labStale].filter(Boolean).join(' · ')}
        </p>
      )}
      <main class="layout">
        <Topology router={routerStatus} lab={live.lab?.value ?? null} faults={live.faults} />
        <Controls
          api={api}
          capabilities={session.capabilities}
          router={routerStatus}
          runner={runner}
          drillRunning={live.drill?.state === 'running'}
          confirm={ask}
        />
        <Charts points={live.points} events={live.events}>
          <Traffic
            api={api}
            traffic={live.traffic}
            available={session.capabilities.traffic}
            runner={runner}
          />
        </Charts>
        <Events events={live.events} />
        <Drills
          api={api}
          session={session}
          drill={live.drill}
          history={live.history}
          runner={runner}
          confirm={ask}
        />
      </main>
      {confirmDialog}
    </>
  );
}

function App() {
  const [auth, setAuth] = useState<{ api: Api; session: Session } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const initial = useMemo(tokenFromFragment, []);

  const signIn = async (token: string) => {
    const api = new Api(token);
    try {
      setAuth({ api, session: await api.session() });
      setError(null);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401 ? 'That is not the lab token.' : (err as Error).message,
      );
    }
  };

  useEffect(() => {
    if (initial) void signIn(initial);
  }, [initial]);

  if (!auth) return <Login error={error} onToken={(t) => void signIn(t)} />;
  return (
    <Console
      api={auth.api}
      session={auth.session}
      onSignOut={(why) => {
        setAuth(null);
        setError(why);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
