// @failover-lab/links: the link proxies between the edge and the regions and between the regions.
export { buildControl } from './control';
export { type Impairment, impairmentOf, type Leg, LOSS_STALL_MS, withFault } from './impairment';
export { Links } from './links';
export { Pipe } from './pipe';
