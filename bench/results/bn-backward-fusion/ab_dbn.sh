#!/bin/bash
# alternated: bench ops of fmnist b128 on lavapipe's CPU row, the BN backward fused into the 1x1s (ASVK_FUSE_BN_BACKWARD=1) or not
n=${1:-2}
for i in $(seq 1 $n); do
 for v in off on; do
  e=0; [ $v = on ] && e=1
  ASVK_FUSE_BN_BACKWARD=$e /work/main/build/asvk bench ops --arch fmnist --batch 128 --repeat 5 --json > /tmp/abdbn_${v}_$i.json
  python3 - /tmp/abdbn_${v}_$i.json $v <<'PY'
import json,sys
j=json.load(open(sys.argv[1])); t=j['train']
k={x['op']:x for x in t['kinds']}
print(sys.argv[2], "step %.1f ms" % t['ms'], "disp", t['dispatches'], " ".join("%s %.1f" % (o, k[o]['ms']) for o in ['conv_bwd_data','conv_bwd_weight','batchnorm_bwd']), "FMA %.1f" % j['ceilings']['fma_gflops'])
PY
 done
done
