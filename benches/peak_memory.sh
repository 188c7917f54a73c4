#!/bin/sh
# Peak memory and time of one signed export from a large synthetic family (issue: batch and
# speed; target: 20,000 records under 30 s and 500 MB). Not a criterion bench: criterion measures
# time, and peak resident memory is a property of a whole process.
#
# usage: benches/peak_memory.sh [RECORDS] [LIMIT_MB]      (defaults 20000 and 500)
# Needs GNU time (/usr/bin/time). Exits 1 if the peak is over the limit.
set -eu
records=${1:-20000}
limit=${2:-500}
bin=target/release/disclose
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" synth --out "$work/fam" --records "$records" --attachments 40 >/dev/null
"$bin" import "$work/fam/export.json" --db "$work/fam.db" >/dev/null
"$bin" keygen --out "$work/keys" >/dev/null
DISCLOSE_TRACE_MEMORY=1 /usr/bin/time -f "%e %M" -o "$work/time" "$bin" export --db "$work/fam.db" --subject p-0 \
  --policy sar-self --out "$work/out" --sign-key "$work/keys/signing-key.pem" \
  --sign-cert "$work/keys/signing-cert.pem" 2>&1 | grep '^memory after' || true
read -r secs kb < "$work/time"
mb=$((kb / 1024))
pages=$(pdfinfo "$work/out/bundle.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
echo "export of one child from $records records: ${secs} s, peak resident ${mb} MB, ${pages:-?} pages"
if [ "$mb" -ge "$limit" ]; then
  echo "peak memory over the limit of $limit MB" >&2
  exit 1
fi
