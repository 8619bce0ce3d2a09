// Before the load: drill users signed up and signed in, a payments account seeded for each (admin
// seed endpoint on the payments primary cell), one session revoked (the login audit checks it
// stays revoked through the fault), and two sessions of their own for the load's revoke op. Setup
// requests are not part of the measured load.
import { randomBytes } from 'node:crypto';
import { type AdminApi, retrying } from '../admin';
import { API } from '../api';
import { mapLimit } from '../concurrency';
import { seededRandom } from '../random';
import type { RecordingClient } from './http';
import { type DrillUser, passwordFor, type RevocableSession, type WorkloadState } from './workload';

export const SEED_BALANCE = 10_000;

/**
 * Sign-ups and sign-ins each cost login a scrypt (~110 ms of a core idle, seconds at load 15-20), and
 * a timed-out attempt is not cancelled: login finishes its hash anyway. Re-sent every 250 ms after the
 * router's 3 s deadline, every retry added one more hash to the pile, which then never drained within
 * the setup's budget (sign-ups 504 for 30 s at load 17-21). Backing off lets the earlier attempt land,
 * so the retry is a cheap "taken" (sign-up) or finds login idle again (sign-in).
 */
export const hashBackoffMs = (failures: number) => Math.min(500 * 2 ** (failures - 1), 8_000);

/** Users set up at once: two cores, and each one is a scrypt on login. */
const SETUP_CONCURRENCY = 2;

export interface RevokedSession {
  refreshToken: string;
  accessToken: string;
}

export interface SetupResult {
  state: WorkloadState;
  seededTotal: number;
  /** a session signed out before the fault; memory only, never reported */
  revoked: RevokedSession | null;
  notes: string[];
}

export async function setUpDrill(
  client: RecordingClient,
  admin: AdminApi,
  options: { users: number; rooms: number; seed: number; runTag: string },
): Promise<SetupResult> {
  const passwordSecret = randomBytes(16).toString('hex');
  const notes: string[] = [];
  // Password hashing dominates setup: a few users at a time keeps it short without flooding login.
  const users: DrillUser[] = new Array(options.users);
  await mapLimit(
    Array.from({ length: options.users }, (_, index) => index),
    SETUP_CONCURRENCY,
    async (index) => {
      const username = `${options.runTag}-u${index}`;
      const password = passwordFor(passwordSecret, username);
      let attempts = 0;
      const created = await retrying(
        `sign-up of ${username}`,
        60_000,
        async () => {
          attempts++;
          const r = await client.call({
            service: 'login',
            op: 'signup',
            ...API.login.signup,
            okStatuses: API.login.signup.ok,
            body: { username, password },
          });
          // A retry answered "taken" means our earlier attempt landed but its answer was lost (a slow
          // scrypt past the client timeout, seen on a busy machine): the user is ours, read its id below.
          if (r.status === 409 && attempts > 1) return null;
          if (!r.record.ok) throw new Error(`status ${r.status} ${r.record.error}`);
          return r.body as { id: string };
        },
        hashBackoffMs,
      );
      const token = await signIn(client, username, password);
      const id = created?.id ?? (await userIdOf(client, token.accessToken));
      users[index] = {
        index,
        id,
        username,
        password,
        accessToken: token.accessToken,
        accountId: `${options.runTag}-a${index}`,
      };
    },
  );

  const accounts = users.map((u) => ({ id: u.accountId, owner: u.id, balance: SEED_BALANCE }));
  await retrying('seeding payments accounts', 20_000, async () => {
    await admin.primaryCellJson('payments', {
      method: 'POST',
      path: API.admin.seedAccounts,
      body: { accounts },
    });
  });

  let revoked: RevokedSession | null = null;
  // the revoke op's first sessions (sign-ins during the load add more): two scrypts, run alongside
  const sessions: RevocableSession[] = [];
  const revocable = Promise.all(
    users.slice(1, 3).map(async (u) => {
      try {
        sessions.push(await signIn(client, u.username, u.password));
      } catch (err) {
        notes.push(`could not prepare a session to revoke under load: ${(err as Error).message}`);
      }
    }),
  );
  try {
    const victim = users[0]!;
    const session = await signIn(client, victim.username, victim.password);
    const out = await client.call({
      service: 'login',
      op: 'revoke',
      ...API.login.signout,
      okStatuses: API.login.signout.ok,
      headers: { authorization: `Bearer ${session.accessToken}` },
      body: { refreshToken: session.refreshToken },
    });
    if (!out.record.ok) throw new Error(`sign-out answered ${out.status} ${out.record.error}`);
    revoked = { refreshToken: session.refreshToken, accessToken: session.accessToken };
  } catch (err) {
    notes.push(`could not prepare a revoked session: ${(err as Error).message}`);
  }
  await revocable;

  return {
    state: {
      runTag: options.runTag,
      users,
      rooms: Array.from({ length: options.rooms }, (_, i) => `${options.runTag}-room${i}`),
      random: seededRandom(options.seed),
      passwordSecret,
      sessions,
      revocations: [],
    },
    seededTotal: accounts.length * SEED_BALANCE,
    revoked,
    notes,
  };
}

export async function signIn(client: RecordingClient, username: string, password: string) {
  return retrying(
    `sign-in of ${username}`,
    45_000,
    async () => {
      const r = await client.call({
        service: 'login',
        op: 'signin',
        ...API.login.signin,
        okStatuses: API.login.signin.ok,
        body: { username, password },
      });
      if (r.status !== 201) throw new Error(`status ${r.status} ${r.record.error}`);
      return r.body as { accessToken: string; refreshToken: string };
    },
    hashBackoffMs,
  );
}

async function userIdOf(client: RecordingClient, accessToken: string): Promise<string> {
  return retrying('reading the drill user id', 20_000, async () => {
    const r = await client.call({
      service: 'login',
      op: 'me',
      ...API.login.me,
      okStatuses: API.login.me.ok,
      headers: { authorization: `Bearer ${accessToken}` },
    });
    if (!r.record.ok) throw new Error(`status ${r.status} ${r.record.error}`);
    return (r.body as { id: string }).id;
  });
}
