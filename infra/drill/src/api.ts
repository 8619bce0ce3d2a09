// The services' public paths as the router exposes them, in one place (docs/contracts.md and the
// services' route files). Statuses listed in `ok` are answers that mean "the service did its job".
export const API = {
  login: {
    signup: { method: 'POST', path: '/login/users', ok: [201] },
    // 429: the sign-in limiter answering is the service doing its job (all drill traffic shares one IP)
    signin: { method: 'POST', path: '/login/sessions', ok: [201, 429] },
    me: { method: 'GET', path: '/login/me', ok: [200] },
    refresh: { method: 'POST', path: '/login/sessions/refresh', ok: [200] },
    signout: { method: 'DELETE', path: '/login/sessions/current', ok: [204] },
  },
  payments: {
    transfer: { method: 'POST', path: '/payments/transfers', ok: [200, 201, 409] },
    transferByKey: (key: string) => `/payments/transfers/${encodeURIComponent(key)}`,
    account: (id: string) => `/payments/accounts/${encodeURIComponent(id)}`,
    balanceOk: [200],
  },
  messaging: {
    post: (room: string) => `/messaging/rooms/${encodeURIComponent(room)}/messages`,
    postOk: [200, 201],
    list: (room: string, after?: string) =>
      `/messaging/rooms/${encodeURIComponent(room)}/messages?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`,
    listOk: [200],
    byId: (id: string) => `/messaging/messages/${encodeURIComponent(id)}`,
  },
  /** cell admin API (docs/contracts.md), called on a cell directly with the admin token */
  admin: {
    state: '/admin/state',
    seedAccounts: '/admin/seed/accounts',
    paymentsAudit: '/admin/audit/payments',
  },
  router: {
    events: (since: string) => `/admin/events?since=${encodeURIComponent(since)}`,
    status: '/admin/status',
    switchover: '/admin/switchover',
  },
} as const;
