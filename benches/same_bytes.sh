#!/bin/sh
# Outputs byte for byte against an earlier build (issue 15: the speed work changes no output).
# usage: benches/same_bytes.sh OLD_BINARY NEW_BINARY
# Exports every child of every fixture family (and Northbrook) under sar-self with both binaries,
# unsigned, and compares bundle.pdf, plan.json, schedule.csv and preview.txt. Exit 1 on a
# difference, naming the family, child and file.
set -eu
old=$1 new=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for fam in "$root"/fixtures/northbrook "$root"/fixtures/families/*/; do
    fam=${fam%/}
    [ -f "$fam/export.json" ] || continue
    name=$(basename "$fam")
    kids=$(python3 -c "import json,sys; print(' '.join(p['id'] for p in json.load(open(sys.argv[1]))['persons'] if p.get('kind')=='child'))" "$fam/export.json")
    for bin in old new; do
        eval b=\$$bin
        "$b" import "$fam/export.json" --db "$work/$name-$bin.db" >/dev/null 2>&1
    done
    for kid in $kids; do
        for bin in old new; do
            eval b=\$$bin
            "$b" export --db "$work/$name-$bin.db" --subject "$kid" --policy sar-self --out "$work/$name-$kid-$bin" >/dev/null 2>&1 || true
        done
        for f in bundle.pdf plan.json schedule.csv preview.txt; do
            a="$work/$name-$kid-old/$f" b="$work/$name-$kid-new/$f"
            if [ ! -f "$a" ] && [ ! -f "$b" ]; then continue; fi
            if ! cmp -s "$a" "$b"; then
                echo "DIFFERENT: $name $kid $f"
                status=1
            else
                echo "same: $name $kid $f"
            fi
        done
    done
done
exit $status
