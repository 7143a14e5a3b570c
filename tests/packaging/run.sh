#!/usr/bin/env bash
# The published @herald/client and @herald/webhooks, used the way a customer uses them:
# outside the workspace.
#
#   1. build (turbo, cached) and `pnpm pack` @herald/client and @herald/webhooks;
#   2. in a temporary folder, `npm install` the tarballs from the npm registry (no workspace
#      links) and check the installed declarations import no @herald/* or server package;
#   3. start Herald with `pnpm start` on embedded PGlite in a temporary data directory, create
#      a project over REST, compile consumer/calls-herald.ts with `tsc --strict` and run it
#      (users.create through the tRPC client and through the REST SDK; the dispatcher's signed
#      `user.created` webhook received by a local server and verified with @herald/webhooks);
#   4. check that consumer/wrong-input.ts (a wrong `users.create` input) does NOT compile.
#
# Run from anywhere: bash tests/packaging/run.sh   (CI: .ci/run)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/herald-packaging.XXXXXX")"
server_pid=""
pnpm=(npx -y pnpm@10)

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    # `pnpm start` runs node under a shell: stop the whole process group it leads.
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "packaging: FAIL: $*" >&2
  exit 1
}
step() { echo "packaging: $*"; }

cd "$root"
step "building"
"${pnpm[@]}" build --output-logs=errors-only >/dev/null

mkdir -p "$work/tarballs" "$work/app"
for package in @herald/client @herald/webhooks; do
  step "packing $package"
  "${pnpm[@]}" --filter "$package" pack --pack-destination "$work/tarballs" >/dev/null
done
ls "$work/tarballs"

step "installing the tarballs with npm in $work/app"
cp "$here/consumer/"*.ts "$here/consumer/tsconfig.json" "$work/app/"
cd "$work/app"
printf '{ "name": "herald-packaging-check", "private": true, "type": "module" }\n' >package.json
typescript_version="$(node -p 'require(process.argv[1]).version' "$root/node_modules/typescript/package.json")"
npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz "typescript@$typescript_version" "@types/node@20" >/dev/null

for private in router events signing; do
  [[ -d "node_modules/@herald/$private" ]] && fail "@herald/$private was installed: the published packages must not need it"
done
server_imports="$(grep -rhoE "(from|import\() *['\"](@herald/[^'\"]*|drizzle-orm[^'\"]*|hono[^'\"]*|postgres|@electric-sql/[^'\"]*|pino|zod[^'\"]*)['\"]" node_modules/@herald/client/dist --include='*.d.ts' || true)"
[[ -n "$server_imports" ]] && fail "the client's declarations import server packages: $server_imports"
# The kit bundles the catalog and the signing code: nothing of Herald's own is imported at run time or in its types.
herald_imports="$(grep -rhoE "(from|import\() *['\"]@herald/[^'\"]*['\"]" node_modules/@herald/webhooks/dist || true)"
[[ -n "$herald_imports" ]] && fail "@herald/webhooks imports workspace packages: $herald_imports"

step "starting Herald (pnpm start, embedded PGlite in a temporary directory)"
port="$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
admin_token="packaging-admin-$(node -p 'require("node:crypto").randomBytes(12).toString("hex")')"
cd "$root"
# Private networks allowed: the program's webhook receiver listens on 127.0.0.1.
PORT="$port" HOST=127.0.0.1 HERALD_ALLOW_PRIVATE_NETWORKS=1 HERALD_DATA_DIR="$work/data" HERALD_ADMIN_TOKEN="$admin_token" HERALD_LOG_LEVEL=warn \
  setsid "${pnpm[@]}" start >"$work/herald.log" 2>&1 &
server_pid=$!
base_url="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -sf "$base_url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/herald.log" >&2; fail "Herald exited before answering /healthz"; }
  sleep 0.5
done
curl -sf "$base_url/healthz" >/dev/null || { cat "$work/herald.log" >&2; fail "Herald did not answer /healthz within 60 s"; }

project="$(curl -sf -X POST "$base_url/v1/projects" -H "authorization: Bearer $admin_token" \
  -H 'content-type: application/json' -d '{"name":"packaging"}')" || fail "POST /v1/projects failed"
api_key="$(node -p 'JSON.parse(process.argv[1]).apiKey.key' "$project")"

cd "$work/app"
step "compiling calls-herald.ts with tsc --strict"
npx tsc --strict -p tsconfig.json || fail "calls-herald.ts does not compile against the installed package"
step "running it against $base_url"
HERALD_URL="$base_url" HERALD_API_KEY="$api_key" node out/calls-herald.js || fail "calls-herald.js failed"

step "checking that a wrong users.create input does not compile"
set +e
wrong="$(npx tsc --strict --noEmit --skipLibCheck --target ES2022 --module NodeNext --moduleResolution NodeNext --types node wrong-input.ts 2>&1)"
status=$?
set -e
echo "$wrong"
[[ $status -eq 0 ]] && fail "wrong-input.ts compiled: the declarations do not type users.create's input"
# Exactly one error, on the call (line 6): not a missing module or a broken declaration file.
[[ "$(grep -c 'error TS' <<<"$wrong")" -eq 1 && "$wrong" == *"wrong-input.ts(6,"* ]] ||
  fail "wrong-input.ts failed for another reason than its input"

step "OK"
