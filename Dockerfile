# syntax=docker/dockerfile:1
# Switchboard hub image. Build: docker build -t switchboard .   Run: see compose.yaml and docs/operations.md.
# The image installs the packed package (npm pack) exactly as a site install does, into /opt/switchboard.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 compiles here when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm run build:console \
 && npm pack --pack-destination /tmp \
 && npm install --global --prefix /opt/switchboard --omit=dev --no-audit --no-fund /tmp/switchboard-*.tgz

FROM node:${NODE_VERSION}-bookworm-slim
RUN groupadd --system switchboard \
 && useradd --system --gid switchboard --home-dir /data --shell /usr/sbin/nologin switchboard \
 && mkdir -p /data /etc/switchboard \
 && chown switchboard:switchboard /data \
 && chmod 0700 /data
COPY --from=build /opt/switchboard /opt/switchboard
ENV NODE_ENV=production \
    PATH=/opt/switchboard/bin:$PATH \
    SWITCHBOARD_DATA_DIR=/data \
    SWITCHBOARD_HTTP_HOST=0.0.0.0 \
    SWITCHBOARD_HTTP_PORT=8080
USER switchboard
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# docker stop sends SIGTERM and waits (compose: stop_grace_period) longer than shutdown.graceMs.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SWITCHBOARD_HTTP_PORT||8080)+'/readyz').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["switchboard"]
CMD ["serve"]
