#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets of tests/fuzz and run each for a bounded time or
# number of executions; any crash, leak, undefined behaviour, failed check or timeout
# fails the run (exit 1), with the input kept under build-fuzz/artifacts/.
#
#   bash scripts/fuzz.sh                      every target, 30 s each
#   bash scripts/fuzz.sh --time 15            what CI runs (scripts/test.sh)
#   bash scripts/fuzz.sh --runs 10000000 --nice props values
#   bash scripts/fuzz.sh --list               the targets
#
# Options:
#   --time S       seconds per target (default 30)
#   --runs N       executions per target instead of a time (the seeds count too)
#   --nice         run at the lowest CPU priority (a shared machine)
#   --no-build     use the build dir as it is
#   --build-dir D  another build dir than build-fuzz/ (e.g. a copy, for a long run while
#                  build-fuzz/ is rebuilt)
#   --table        print the summary as a Markdown table (target, executions, time, result)
#   TARGET...      only these (default: all of tests/fuzz/meson.build)
#
# build-fuzz/ is configured once: CC=clang-14 meson setup -Dfuzz=true
# -Db_sanitize=address,undefined (scripts/deps.sh installs clang-14 and
# libclang-rt-14-dev).  Each target reads its seeds from tests/fuzz/corpus/TARGET (never
# written) and keeps what it finds in build-fuzz/corpus/TARGET, so later runs start from
# there.  Logs: build-fuzz/logs/TARGET.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { echo "fuzz.sh: error: $*" >&2; exit 2; }

time_s=30 runs= nice_cmd=() build=1 table=0 list=0 targets=() out=build-fuzz
while [ $# -gt 0 ]; do
    case $1 in
    --time) time_s=${2:?--time needs seconds}; shift ;;
    --runs) runs=${2:?--runs needs a number}; shift ;;
    --nice) nice_cmd=(nice -n 19) ;;
    --no-build) build=0 ;;
    --build-dir) out=${2:?--build-dir needs a directory}; shift ;;
    --table) table=1 ;;
    --list) list=1 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) targets+=("$1") ;;
    esac
    shift
done

# The targets: the list in tests/fuzz/meson.build.
mapfile -t all < <(sed -n "/^fuzz_targets = \[/,/\]/p" tests/fuzz/meson.build |
    grep -o "'[a-z0-9_]*'" | tr -d "'")
[ ${#all[@]} -gt 0 ] || die "no targets found in tests/fuzz/meson.build"
if [ "$list" = 1 ]; then printf '%s\n' "${all[@]}"; exit 0; fi
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    # (not `printf | grep -q`: under pipefail, grep's early exit fails printf with SIGPIPE)
    [[ " ${all[*]} " == *" $t "* ]] || die "no target $t (see --list)"
done

if [ "$build" = 1 ]; then
    CC=${CC:-clang-14}
    command -v "$CC" >/dev/null || die "$CC not found (bash scripts/deps.sh installs clang-14)"
    if [ ! -f "$out/build.ninja" ]; then
        rm -rf "$out"
        CC=$CC meson setup "$out" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
            >/dev/null
    fi
    "${nice_cmd[@]}" ninja -C "$out" >/dev/null || { ninja -C "$out"; die "build failed"; }
fi
mkdir -p "$out/logs" "$out/artifacts"

# Every report is fatal: leaks (at exit of each input), UB (-fno-sanitize-recover), ASan.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:print_summary=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

limit=(-max_total_time="$time_s")
[ -n "$runs" ] && limit=(-runs="$runs")
failed=() rows=()
for t in "${targets[@]}"; do
    bin=$out/tests/fuzz/fuzz_$t
    [ -x "$bin" ] || die "$bin was not built"
    mkdir -p "$out/corpus/$t"
    log=$out/logs/$t.log
    start=$(date +%s)
    rc=0
    "${nice_cmd[@]}" "$bin" "$out/corpus/$t" "tests/fuzz/corpus/$t" "${limit[@]}" \
        -timeout=10 -rss_limit_mb=2560 -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$t-" >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" = 0 ]; then
        result="0 crashes"
    else
        result=$(grep -m1 -oE "ERROR: [A-Za-z]+: [a-z-]+[^(]*|runtime error: .*|fuzz check failed: .*" "$log" ||
            echo "exit status $rc")
        failed+=("$t")
    fi
    rows+=("$t|${execs:-?}|${secs}|$result")
    printf 'fuzz %-9s %10s executions in %4ss: %s\n' "$t" "${execs:-?}" "$secs" "$result"
    if [ "$rc" != 0 ]; then
        grep -m1 "Test unit written to" "$log" | sed 's/^/    /' || true
        echo "    log: $log"
    fi
done

if [ "$table" = 1 ]; then
    echo
    echo "| target | executions | time | result |"
    echo "|---|---:|---:|---|"
    for r in "${rows[@]}"; do
        IFS='|' read -r t e s res <<<"$r"
        printf '| %s | %s | %s | %s |\n' "$t" "$e" "$(printf '%dm%02ds' $((s / 60)) $((s % 60)))" "$res"
    done
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]}" >&2
    exit 1
fi
