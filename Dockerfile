# One image for every OMS service; the compose file picks the entry point per service.
FROM node:22.23.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22.23.3-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The ops page's static files (api/opsPage.ts serves them from the source folder: no build step).
COPY --from=build /app/api/ops ./api/ops
COPY package.json ./
USER node
CMD ["node", "--enable-source-maps", "--experimental-async-context-frame", "dist/command-service/main.js"]
