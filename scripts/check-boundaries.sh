#!/usr/bin/env bash
# Proves the module-boundary rules bite: plants forbidden imports, expects `nx lint` to
# fail on each, and always removes them again.
set -uo pipefail
cd "$(dirname "$0")/.."
planted=(libs/contracts/src/zz-forbidden.ts apps/packer/src/zz-forbidden.ts apps/api/src/zz-forbidden.ts scripts/zz-forbidden.ts bench/zz-forbidden.ts libs/messaging/src/zz-forbidden.ts apps/admin/src/zz-forbidden.tsx)
cleanup() { rm -f "${planted[@]}"; }
trap cleanup EXIT
ok=1
check() { # check PROJECT FILE CONTENT WHAT [RULE]
  local rule=${5:-enforce-module-boundaries}
  printf '%s\n' "$3" >"$2"
  if NX_DAEMON=false npx nx lint "$1" --skip-nx-cache --outputStyle=static >/tmp/boundary-$1.log 2>&1; then
    echo "boundary check FAILED: $4 was not caught by nx lint $1"; ok=0
  elif grep -q "$rule" /tmp/boundary-$1.log; then
    echo "boundary check ok: $4 is refused"
  else
    echo "boundary check FAILED: nx lint $1 failed, but not for $rule:"; tail -20 /tmp/boundary-$1.log; ok=0
  fi
  rm -f "$2"
}
check contracts libs/contracts/src/zz-forbidden.ts "import { Injectable } from '@nestjs/common';
export const x = Injectable;" "a framework import in libs/contracts"
check packer apps/packer/src/zz-forbidden.ts "import { DispatcherModule } from '../../dispatcher/src/dispatcher.module';
export const x = DispatcherModule;" "an app importing another app"
check scripts scripts/zz-forbidden.ts "import { ApiModule } from '../apps/api/src/api.module';
export const x = ApiModule;" "a script importing an app by relative path"
check bench bench/zz-forbidden.ts "import { PackerModule } from '../apps/packer/src/packer.module';
export const x = PackerModule;" "a bench importing an app by relative path"
check packer apps/packer/src/zz-forbidden.ts "import { peers } from '@pbx/testing';
export const x = peers;" "production code of an app importing @pbx/testing" no-restricted-imports
check messaging libs/messaging/src/zz-forbidden.ts "import { peers } from '@pbx/testing';
export const x = peers;" "production code of a lib importing @pbx/testing" no-restricted-imports
check api apps/api/src/zz-forbidden.ts "import { startTestApi } from './api.test-helper';
export const x = startTestApi;" "production code of an app importing a *.test-helper" no-restricted-imports
check admin apps/admin/src/zz-forbidden.tsx "import { ROLES } from '@pbx/contracts';
export const x = ROLES;" "the admin UI importing a lib (it uses only its generated API types)"
check admin apps/admin/src/zz-forbidden.tsx "import { ApiModule } from '../../api/src/api.module';
export const x = ApiModule;" "the admin UI importing the api by relative path"
[[ $ok == 1 ]]
