# syntax=docker/dockerfile:1
# One image for every Node process in docker compose: the three services and the edge router
# (same image in both regions; docker-compose.yml picks the entry file with `command`).
# TypeScript runs from source with tsx, as everywhere in this repo (no build step). tsx is a dev
# dependency of the workspace, so the final stage installs production dependencies only and then adds
# tsx at the version pinned in package-lock.json — in effect tsx is a production dependency of the
# image. Never built here (no Docker engine on the machine that wrote it); see docs/docker.md.

ARG NODE_IMAGE=node:20-slim

# --- deps: production node_modules for all workspaces, plus tsx ------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
# Manifests only, so this layer is rebuilt only when dependencies change.
COPY package.json package-lock.json .npmrc ./
COPY infra/contracts/package.json infra/contracts/
COPY services/kit/package.json services/kit/
COPY services/login/package.json services/login/
COPY services/payments/package.json services/payments/
COPY services/messaging/package.json services/messaging/
COPY infra/lab/package.json infra/lab/
COPY infra/router/package.json infra/router/
COPY infra/drill/package.json infra/drill/
RUN npm ci --omit=dev --no-audit --no-fund \
 && TSX_VERSION="$(node -p "require('./package-lock.json').packages['node_modules/tsx'].version")" \
 && npm install --omit=dev --no-save --no-audit --no-fund "tsx@${TSX_VERSION}" \
 && npm cache clean --force

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
# Sources (see .dockerignore for what stays out: tests, state, secrets, node_modules of the host).
COPY --chown=node:node . .
# The router's persisted state (epochs, primaries) lives on a volume mounted here.
RUN mkdir -p /var/lib/failover-lab && chown node:node /var/lib/failover-lab
# Non-root: the `node` user (uid 1000) of the official image.
USER node
EXPOSE 3000 8080
# docker-compose.yml always sets the command; this default only says what the image is for.
CMD ["node_modules/.bin/tsx", "infra/router/src/server.ts"]
