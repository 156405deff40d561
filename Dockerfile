# syntax=docker/dockerfile:1
# One image for the four apps (api, release-service, executor, remediation): the entry point is node, the
# command names the app (`dist/apps/<app>/src/main.js`). The executor needs helm: it is built here from the
# Go module proxy, the same version the tests run (scripts/infra/helm.sh), and its module is checked
# against the hash below. Built on a Docker engine only: the project's own machines have none.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS helm
ARG HELM_VERSION=v3.22.0
# The go.sum hash (h1:) of helm.sh/helm/v3 at HELM_VERSION; `go install` also checks it against the
# checksum database. Change both together.
ARG HELM_MODULE_SUM=h1:n1if5iQgHYsujPAcO5oonH/KiSNUmqmUF0iGVjSF3AU=
ENV CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
RUN go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" \
 && go version -m /go/bin/helm | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" { print $4 }' | grep -qxF "${HELM_MODULE_SUM}" \
 && /go/bin/helm version --short | grep -qF "${HELM_VERSION}"

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing the service depends on needs one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
# The console (apps/console) is built with the typed client of packages/client.
COPY packages ./packages
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="helm-rollback-service" \
      org.opencontainers.image.description="Helm release history as an event log; install, upgrade, roll back and uninstall through Helm" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/helm-rollback-service/helm-rollback-service"
WORKDIR /app
# Helm's home and temp files go to volumes, so the root filesystem may be read-only.
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0 \
    HELM_BIN=/usr/local/bin/helm \
    EXECUTOR_HELM_HOME=/var/lib/helm-rollback-service/helm \
    HEALTH_PORT=8080
COPY --from=helm /go/bin/helm /usr/local/bin/helm
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json LICENSE ./
RUN mkdir -p /var/lib/helm-rollback-service/helm && chown -R 10001:10001 /var/lib/helm-rollback-service
VOLUME ["/var/lib/helm-rollback-service/helm", "/tmp"]
USER 10001:10001
# Each app serves /health/live on its own port: set HEALTH_PORT to it (8080 api, 8081 release-service,
# 8082 executor, 8083 remediation).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HEALTH_PORT + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/apps/api/src/main.js"]
