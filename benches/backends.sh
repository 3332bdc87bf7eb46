#!/usr/bin/env bash
# Usage: benches/backends.sh (after `cargo build --release --bin zkmlops`); prints Markdown rows.
# FRI vs plonky2 vs halo2 on the bundled models through the release CLI: prove ms, proof bytes,
# verify ms, the verify process's wall time, and the prove process's peak RSS.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
Z=$ROOT/target/release/zkmlops
M=$ROOT/examples/models
cd "$(mktemp -d)"
for model in logreg mlp cnn; do
  for cfg in "fri|committed+zk|" "fri|private, transparent|--visibility params=private --transparent" \
             "plonky2|private, transparent|--backend plonky2 --visibility params=private --transparent" \
             "plonky2|committed, transparent|--backend plonky2 --transparent" \
             "plonky2|private+zk|--backend plonky2 --visibility params=private --zk" \
             "halo2|committed+zk (default)|--backend halo2" \
             "halo2|private+zk|--backend halo2 --visibility params=private"; do
    IFS='|' read -r be label args <<< "$cfg"
    vis=""; case "$args" in *params=private*) vis="--visibility params=private";; esac
    out=$( /usr/bin/time -f "rss %M" -o rss.txt $Z -q prove $M/$model.onnx --input $M/$model.input.json $args -o p.json 2>&1 | head -1)
    rss=$(( $(sed -n 's/^rss \([0-9]*\)/\1/p' rss.txt) / 1024 ))
    ms=$(echo "$out" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
    bytes=$(echo "$out" | sed -n 's/.*: \([0-9]*\) proof bytes.*/\1/p')
    v=$( /usr/bin/time -f "%e" $Z -q verify p.json --model $M/$model.onnx $vis --json 2>/tmp/vt | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verified"], d["verify_ms"])')
    echo "| $model | $be | $label | $ms | $bytes | $v | $(cat /tmp/vt) | $rss MB |"
  done
done
