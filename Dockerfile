# One image for all five apps; pick one with the APP build argument or the command.
#   docker build --build-arg APP=api -t pbx-backup-api .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# smbclient: the SMB3 driver of the Windows-share destination.
RUN apt-get update && apt-get install -y --no-install-recommends smbclient ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ARG APP=api
ENV APP=${APP} NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The data directories exist, owned by the apps' user, so named volumes mounted on them start
# out writable by it (Docker copies a directory's owner into an empty named volume).
RUN mkdir -p /data/artifacts /data/pbx /data/backups /media/usb && chown -R node:node /data /media/usb
USER node
CMD ["sh", "-c", "exec node dist/apps/${APP}/src/main.js"]
