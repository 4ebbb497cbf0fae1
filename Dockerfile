# syntax=docker/dockerfile:1
#
# Sluice's container image.
#
#   docker build -t sluice .                 # the default target: runtime
#   docker build -t sluice-kcl --target kcl . # runtime + a JRE and the KCL jars (KCL mode)
#
# The app is exactly the npm package (`npm pack`: bin/, dist/, samples/, the models) plus its
# production dependencies (`npm ci --omit=dev`), owned by root and run as the unprivileged `node`
# user (uid 1000), with tini as PID 1 so SIGTERM from ECS reaches Sluice (it checkpoints and exits within
# SLUICE_SHUTDOWN_TIMEOUT). `npm run image:check` lints this file, checks these invariants and
# runs the same production tree without a Docker engine.

ARG NODE_IMAGE=node:26-trixie-slim

# --- build: compile TypeScript and pack the npm package -------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY bench ./bench
COPY samples ./samples
COPY README.md ./
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm pack --silent --pack-destination /tmp \
 && mkdir /app \
 && tar -xzf /tmp/sluice-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/

# --- base: the production tree on the Node.js LTS image, run as `node` ------------------------
FROM ${NODE_IMAGE} AS base
# tini is PID 1: it forwards SIGTERM to Sluice and reaps zombies. Debian's package, so security
# fixes come with the base image rather than with a pinned version.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    SLUICE_OPS_PORT=8081 \
    SLUICE_OPS_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && npm cache clean --force \
 && mkdir -p /var/lib/sluice \
 && chown node:node /var/lib/sluice
COPY deploy/image/healthcheck.mjs /usr/local/lib/sluice/healthcheck.mjs
# the official image's `node` user, by number so that runtimes can verify it is not root
USER 1000:1000
EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/usr/local/lib/sluice/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "/app/bin/sluice"]
CMD ["start"]

# --- kcl-jars: the KCL MultiLangDaemon jars, resolved with Maven from aws-kcl's pom ------------
FROM ${NODE_IMAGE} AS kcl-jars
ARG AWS_KCL_VERSION=2.3.2
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends maven \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /kcl
# aws-kcl's pom.xml lists the jars its bootstrap script downloads, but has no coordinates of its
# own: give it some, then let Maven copy exactly those jars (not their transitive closure).
RUN npm pack --silent "aws-kcl@${AWS_KCL_VERSION}" \
 && tar -xzf "aws-kcl-${AWS_KCL_VERSION}.tgz" \
 && sed -i 's#<modelVersion>4.0.0</modelVersion>#<modelVersion>4.0.0</modelVersion><groupId>sluice</groupId><artifactId>kcl-jars</artifactId><version>0</version><packaging>pom</packaging>#' package/pom.xml \
 && mvn -B -q -f package/pom.xml dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=/kcl/jars \
 && cp package/pom.xml /kcl/jars/aws-kcl-pom.xml

# --- kcl: runtime plus a JRE and the KCL jars (KCL mode for Kinesis) ---------------------------
FROM base AS kcl
USER 0
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends default-jre-headless \
 && rm -rf /var/lib/apt/lists/*
COPY --from=kcl-jars /kcl/jars /opt/kcl/jars
ENV SLUICE_KCL_JARS=/opt/kcl/jars
USER 1000:1000

# --- runtime: the default target ------------------------------------------------------------
FROM base AS runtime
