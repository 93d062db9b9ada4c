# kjd's container image: `kjd serve` as a non-root user on Node 24, with only
# production dependencies. (No Docker engine exists where kjd is developed, so
# CI does not build this; it is kept small and plain.)
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER 10001:10001
EXPOSE 8080
# A 4 MB young generation: Node 24 sizes it up to 64 MB per semi-space, which
# kjd never needs and which showed as ~50 MB more RSS (docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/bin/kjd.mjs"]
CMD ["serve", "--config", "/etc/kjd/kjd.yaml"]
