#!/usr/bin/env bash
# The admin UI's API types (apps/admin/src/api/schema.d.ts, committed) must be exactly what
# openapi-typescript makes from the pinned document apps/api/openapi.json. Run before the
# build, which regenerates them. Fix: npm run admin:api-types, then commit the file.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! npx openapi-typescript apps/api/openapi.json --default-non-nullable false -o apps/admin/src/api/schema.d.ts --check >/tmp/admin-api-types.log 2>&1; then
  cat /tmp/admin-api-types.log
  echo "apps/admin/src/api/schema.d.ts differs from apps/api/openapi.json: run npm run admin:api-types and commit it"
  exit 1
fi
echo "admin API types match apps/api/openapi.json"
