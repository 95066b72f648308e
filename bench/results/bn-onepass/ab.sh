#!/bin/bash
# alternated: bench ops of fmnist b128, two-pass BN backward (ASVK_BN_ONEPASS=0) vs one-pass
n=${1:-2}
for i in $(seq 1 $n); do
 for v in two one; do
  e=; [ $v = two ] && e=0
  ASVK_BN_ONEPASS=$e /work/main/build/asvk bench ops --arch fmnist --batch 128 --repeat 5 --json > /tmp/abop_${v}_$i.json
  python3 - /tmp/abop_${v}_$i.json $v <<'PY'
import json,sys
j=json.load(open(sys.argv[1])); t=j['train']
k={x['op']:x for x in t['kinds']}
print(sys.argv[2], "step %.1f ms" % t['ms'], "disp", t['dispatches'], "bn_bwd %.1f ms (%d disp)" % (k['batchnorm_bwd']['ms'], k['batchnorm_bwd']['dispatches']), "FMA %.1f" % j['ceilings']['fma_gflops'])
PY
 done
done
