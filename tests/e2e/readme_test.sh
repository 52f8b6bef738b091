#!/usr/bin/env bash
# README.md's "Running it yourself", run as written: the first ```sh block of
# that section is read from README.md itself (a data dependency), so a command
# that stops working there fails this test. It runs in one bash process, as if
# pasted into a terminal, with these substitutions and nothing else (each one
# must still match the README, or the test says which one does not):
#   - the `tools/setup && bazel build ...` line: each //PKG:NAME target it names
#     is linked as bazel-bin/PKG/NAME in the working directory from this test's
#     runfiles (the test fails if it names one that is not a data dependency);
#     the line itself runs as a no-op;
#   - /var/lib/graphmill is a directory under the test's temporary directory,
#     and HOME (hence ~) another; XDG_CONFIG_HOME, GRAPHMILL_TOKEN and
#     GRAPHMILL_SECRET_KEY are unset, as on a machine without graphmill;
#   - the coordinator gets `--listen 127.0.0.1:PORT` (a free port), the worker's
#     127.0.0.1:7400 becomes 127.0.0.1:PORT, and GRAPHMILL_SERVER points the CLI
#     there;
#   - `export CIRCLE_TOKEN=...` gets the fake CircleCI server's token, and
#     `graphmill instance create` gets `--config baseUrl=<the fake's URL>`;
#   - `graphmill subscribe` gets `--until-caught-up`, so it ends after the
#     backlog;
#   - aliases are expanded (an interactive shell does that; a script must ask);
#     every command must exit 0 (set -e, pipefail); background processes are
#     stopped at the end.
# Then it checks what the commands printed: the instance with its secret
# masked, the run SUCCEEDED, `graph entities --type circleci_project` lists the
# fake's projects, the schedule is every 4h, and subscribe printed the creation
# of the graph up to its caught-up marker.
set -euo pipefail

runfiles="${TEST_SRCDIR:?run with bazel test}/${TEST_WORKSPACE:-graphmill}"
readme="$runfiles/README.md"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/readme.XXXXXX")"
fake_token="readme-test-circle-token"

fail() {
  echo "readme_test: FAIL: $*" >&2
  for f in script.sh stdout stderr; do
    if [ -f "$work/$f" ]; then
      echo "----- $f (last 60 lines)" >&2
      tail -n 60 "$work/$f" >&2
    fi
  done
  exit 1
}

fake_pid=""
cleanup() {
  if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# The section's first ```sh block (the second one is the TLS set-up across
# machines).
block="$(awk '
  /^## / { in_section = ($0 == "## Running it yourself"); next }
  in_section && !in_block && /^```sh$/ { in_block = 1; next }
  in_block && /^```$/ { exit }
  in_block { print }
' "$readme")"
[ -n "$block" ] || fail "README.md has no \`\`\`sh block under '## Running it yourself'"

# replace DESCRIPTION FROM TO: every occurrence of the literal text FROM in the
# block becomes TO; FROM must occur.
replace() {
  local description="$1" from="$2" to="$3"
  [[ "$block" == *"$from"* ]] ||
    fail "substitution '$description': README.md's block no longer contains '$from'"
  block="${block//"$from"/"$to"}"
}

# The build line: link what it builds from the runfiles.
build_line="$(grep -E '^tools/setup && bazel build ' <<<"$block" || true)"
[ -n "$build_line" ] || fail "README.md's block has no 'tools/setup && bazel build' line"
targets=0
for target in $(grep -oE '//[A-Za-z0-9_/.-]*:[A-Za-z0-9_.-]+' <<<"$build_line"); do
  package="${target#//}"
  package="${package%%:*}"
  name="${target##*:}"
  binary="$runfiles/$package/$name"
  [ -x "$binary" ] || fail "README builds $target, which is not a data dependency of this test"
  mkdir -p "$work/bazel-bin/$package"
  ln -s "$binary" "$work/bazel-bin/$package/$name"
  targets=$((targets + 1))
done
[ "$targets" -gt 0 ] || fail "README.md's build line names no target"
replace "build line" "$build_line" ": built by Bazel as data of this test"

# The fake CircleCI API, small enough to ingest in a few seconds.
"$runfiles/tests/fakes/circleci/fake_circleci" --port=0 --port_file="$work/fake.port" \
  --token="$fake_token" --orgs=1 --projects_per_org=3 --pipelines_per_project=2 \
  --workflows_per_pipeline=1 --jobs_per_workflow=2 >"$work/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do
  [ -s "$work/fake.port" ] && break
  sleep 0.1
done
[ -s "$work/fake.port" ] || fail "the fake CircleCI server did not start: $(cat "$work/fake.log")"
fake_url="http://127.0.0.1:$(cat "$work/fake.port")/api/v2"
/usr/bin/python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "http://127.0.0.1:$(cat "$work/fake.port")/_control/dataset" >"$work/dataset.json" ||
  fail "cannot read the fake's dataset"

port="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

replace "state directory" "/var/lib/graphmill" "$work/var/lib/graphmill"
replace "coordinator port" "bazel-bin/coordinator/graphmill-coordinator " \
  "bazel-bin/coordinator/graphmill-coordinator --listen 127.0.0.1:$port "
replace "worker's coordinator" "--coordinator 127.0.0.1:7400" "--coordinator 127.0.0.1:$port"
replace "CircleCI token" "export CIRCLE_TOKEN=..." "export CIRCLE_TOKEN=$fake_token"
replace "CircleCI API" "graphmill instance create " \
  "graphmill instance create --config baseUrl=$fake_url "
replace "bounded subscribe" "graphmill subscribe " "graphmill subscribe --until-caught-up "

mkdir -p "$work/home"
{
  echo 'set -euo pipefail'
  echo 'shopt -s expand_aliases'
  echo 'trap '\''kill $(jobs -p) 2>/dev/null; wait'\'' EXIT'
  # The trace goes to stdout (through its own descriptor: one in a pipeline
  # stays the file), so each command's output follows its trace line.
  echo 'exec 9>&1'
  echo 'BASH_XTRACEFD=9'
  echo "PS4='+ '"
  echo 'set -x'
  echo "$block"
} >"$work/script.sh"

cd "$work"
status=0
env -u XDG_CONFIG_HOME -u GRAPHMILL_TOKEN -u GRAPHMILL_SECRET_KEY \
  HOME="$work/home" GRAPHMILL_SERVER="127.0.0.1:$port" \
  timeout 45 bash "$work/script.sh" >"$work/stdout" 2>"$work/stderr" || status=$?
[ "$status" -eq 0 ] || fail "README's commands exited $status (the last '+' line of stdout is the command)"

# output_of PATTERN: the lines the command whose trace line contains PATTERN
# printed (up to the next trace line).
output_of() {
  awk -v pattern="$1" '
    /^\+/ { printing = (index($0, pattern) > 0); if (printing) found = 1; next }
    printing { print }
    END { if (!found) exit 1 }
  ' "$work/stdout" || fail "no command '$1' ran"
}

created="$(output_of "graphmill instance create")"
grep -qE '^config\.apiKey +\*\*\*$' <<<"$created" ||
  fail "instance create did not print config.apiKey masked: $created"

watched="$(output_of "graphmill run start ci-prod --watch")"
tail -n 1 <<<"$watched" | grep -qE '^run [0-9]+ SUCCEEDED in ' ||
  fail "the run did not end SUCCEEDED: $watched"

listed="$(output_of "graphmill graph entities --instance ci-prod --type circleci_project")"
# "ID NAME" of each project the fake serves.
mapfile -t projects < <(/usr/bin/python3 -c '
import json, sys
for p in json.load(open(sys.argv[1]))["projects"]:
    print(p["id"], p["name"])
' "$work/dataset.json")
[ "${#projects[@]}" -gt 0 ] || fail "the fake serves no project"
rows="$(grep -cE '^circleci_project:' <<<"$listed" || true)"
[ "$rows" -eq "${#projects[@]}" ] ||
  fail "graph entities listed $rows projects, the fake serves ${#projects[@]}: $listed"
for project in "${projects[@]}"; do
  grep -qE "^circleci_project:${project%% *} +circleci_project +[A-Za-z,]+ +${project#* }\$" <<<"$listed" ||
    fail "graph entities does not list the fake's project '$project': $listed"
done

updated="$(output_of "graphmill instance update ci-prod --schedule 4h")"
grep -qE '^schedule +every 4h' <<<"$updated" || fail "the schedule is not every 4h: $updated"

changes="$(output_of "graphmill subscribe --until-caught-up")"
count="$(grep -c '"kind":"CHANGE_KIND_CREATED","instanceId":"ci-prod"' <<<"$changes" || true)"
[ "$count" -gt "${#projects[@]}" ] || fail "subscribe printed $count creations: $changes"
[ "$count" -eq "$(wc -l <<<"$changes")" ] || fail "subscribe printed more than creations: $changes"
last="$(tail -n 1 <<<"$changes" | grep -oE '^\{"sequence":"[0-9]+"' | grep -oE '[0-9]+')"
grep -qx "# caught up at sequence $last" "$work/stderr" ||
  fail "subscribe did not say it caught up at sequence $last"

echo "readme_test: PASS: README.md's 'Running it yourself' ran; $count changes, ${#projects[@]} projects"
