#!/bin/bash
# abops.sh BASE NEW N: `asvk bench ops --arch fmnist --batch 128 --json` with the base and the new
# binary, alternated N times; JSONs in /tmp/abops_{base,new}_I.json (copied to ab/); prints the step and
# the weight-gradient, backward-data and BN-backward totals in ms
for i in $(seq 1 $3); do
  for v in base new; do
    b=$1; [ $v = new ] && b=$2
    $b bench ops --arch fmnist --batch 128 --json 2>/dev/null > /tmp/abops_${v}_$i.json
    /usr/bin/python3 -c "
import json,sys; t=json.load(open('/tmp/abops_${v}_$i.json'))['train']
k={r['op']:r['ms'] for r in t['kinds']}
print('$v', round(t['ms'],1), 'wgrad', round(k['conv_bwd_weight'],1), 'bwd_data', round(k['conv_bwd_data'],1), 'bn_bwd', round(k['batchnorm_bwd'],1))"
  done
done
