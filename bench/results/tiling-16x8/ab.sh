#!/bin/bash
# ab.sh ARCH N: alternate base and new bench train N times each
arch=$1; n=$2
for i in $(seq 1 $n); do
  for v in base new; do
    b=/tmp/asvk_base; [ $v = new ] && b=/work/main/build/asvk
    $b bench train --arch $arch --batch 128 --repeat 7 --json > /tmp/ab_${arch}_${v}_$i.json 2>/dev/null
    python3 -c "import json,sys; j=json.load(open('/tmp/ab_${arch}_${v}_$i.json')); print('$v', round(j['train_images_per_s'],1), round(j['infer_images_per_s'],1), round(j['latency_batch1_ms'],3))"
  done
done
