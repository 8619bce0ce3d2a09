// HTTP headers with a meaning between the router, the cells and the clients (docs/contracts.md).

/** Router → cell on every proxied request, router → client on every answer: the service's epoch. */
export const EPOCH_HEADER = 'x-failover-epoch';

/**
 * Router → cell: unix epoch ms at which the router gives up on this attempt (and may send it to
 * another region). A cell refuses a write, or rolls it back before COMMIT, once it has passed.
 */
export const DEADLINE_HEADER = 'x-request-deadline';

/**
 * Router → cell on every health probe, with the service's epoch and the probe's deadline: the lease,
 * in ms. A primary at that epoch that got the probe before its deadline may write for this long after
 * it; once the lease has run out without a renewal it fences itself (docs/fencing.md, "The lease").
 */
export const LEASE_HEADER = 'x-failover-lease-ms';

/**
 * Router → cell on every proxied request that grants the lease (with EPOCH_HEADER and LEASE_HEADER):
 * the grant's own deadline (unix ms), short, unlike the request's x-request-deadline. A primary at that
 * epoch holds its lease until this + the lease, whenever it reads the request; the router counts
 * exactly that for every request it sent (docs/fencing.md, "The lease"). A probe's deadline is its
 * x-request-deadline.
 */
export const LEASE_DEADLINE_HEADER = 'x-failover-lease-deadline';

/** Router → client: the region whose cell answered. */
export const SERVED_BY_HEADER = 'x-served-by';

/** Cell → anyone: the cell's region and role on every response. */
export const CELL_REGION_HEADER = 'x-cell-region';
export const CELL_ROLE_HEADER = 'x-cell-role';
/** Cell → anyone, on reads a standby answers: how far behind its primary it is. */
export const REPLICATION_LAG_HEADER = 'x-replication-lag-bytes';

/** Client → payments: makes a transfer safe to send twice (and so for the router to retry). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Router → cell: the client's address, believed only from a trusted proxy (TRUSTED_PROXIES). */
export const FORWARDED_FOR_HEADER = 'x-forwarded-for';
