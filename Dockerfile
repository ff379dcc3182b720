# tjfs image: the CLI, the FUSE mount and the CSI driver (`tjfs csi`).
# Debian with fuse3 (fusermount3, /etc/fuse.conf) and util-linux (mount --bind, umount).
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY native ./native
COPY src ./src
COPY test ./test
COPY benchmarks ./benchmarks
# npm ci runs the install scripts, each failing the build if it fails: better-sqlite3 and the
# native addon (plain N-API C, no libfuse) build from source, then `prepare` compiles the
# TypeScript (tsconfig covers test/ and benchmarks/ too, hence their COPY above).
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends fuse3 util-linux ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/native/build/Release/tjfs_fuse.node ./native/build/Release/tjfs_fuse.node
COPY --from=build /app/dist ./dist
# The CSI proto is loaded at run time from the package root (tsc does not copy it).
COPY --from=build /app/src/csi/proto ./src/csi/proto
RUN ln -s /app/dist/src/cli/bin.js /usr/local/bin/tjfs && chmod +x /app/dist/src/cli/bin.js
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli/bin.js"]
CMD ["--help"]
