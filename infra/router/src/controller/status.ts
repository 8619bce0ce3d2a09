// What the controller reports about each service (GET /admin/status): the persisted primary and
// epoch, what the data plane does, and each cell as the prober last saw it.
import { REGIONS } from '@failover-lab/contracts';
import type { Controller, ControllerDeps } from './controller';

export function controllerStatus(
  controller: Controller,
  deps: Pick<ControllerDeps, 'services' | 'routes' | 'health'>,
) {
  return Object.fromEntries(
    controller.serviceNames().map((service) => {
      const { region: primary, epoch } = controller.primaryOf(service);
      const route = deps.routes.get(service);
      const cells = Object.fromEntries(
        REGIONS.map((region) => {
          const h = deps.health.health(service, region);
          return [
            region,
            {
              url: deps.services[service]!.cells[region],
              status: h.status,
              role: h.lastReady?.role ?? null,
              epoch: h.lastReady?.epoch ?? null,
              fenced: h.lastReady?.fenced ?? null,
              replicationLagBytes: h.lastReady?.replicationLagBytes ?? null,
              lastProbeMs: h.lastProbeMs === null ? null : Math.round(h.lastProbeMs * 10) / 10,
              lastError: h.lastError,
              since: new Date(h.since).toISOString(),
            },
          ];
        }),
      );
      return [
        service,
        {
          primary,
          epoch,
          mode: deps.services[service]!.mode,
          topology: deps.services[service]!.topology ?? 'active-passive',
          // active-active: the regions taking traffic now (each room goes to its home region among them)
          ...(route?.active ? { active: [...route.active] } : {}),
          serving: route?.serving ?? false,
          refuseWrites: route?.refuseWrites ?? false,
          rpoGuaranteeSuspended: controller.rpoSuspended(service),
          lastOutcome: controller.lastOutcome(service),
          cells,
        },
      ];
    }),
  );
}
