#!/bin/bash
# bench/gpu-run.sh — one bounded pass on a machine with an NVIDIA GPU: NVIDIA's OpenCL through the
# ICD loader, the network and conv tests on the GPU, CaffeNet and small-net training speed, and the
# same nets in PyTorch on the same GPU (bench/compare). Expects .gpu/ in the repository root with
# cltransfer, cltransfer-bench, test_net, test_conv built here and lib/ holding libclblast.so.1,
# libturbojpeg.so.0 and libOpenCL.so.1; results go to $OUT. Numbers: bench/RESULTS.md.
R=$PWD; G=$R/.gpu
exec > >(tee "$OUT/log.txt") 2>&1
export LD_LIBRARY_PATH=$G/lib:${LD_LIBRARY_PATH:-}
lib=$(ldconfig -p | awk '/libnvidia-opencl.so.1/ {print $NF; exit}')
[ -z "$lib" ] && lib=$(find /usr/local/nvidia /usr/lib /usr/lib64 -name 'libnvidia-opencl.so.1*' 2>/dev/null | head -1)
mkdir -p /tmp/icd && echo "$lib" > /tmp/icd/nvidia.icd && export OCL_ICD_VENDORS=/tmp/icd
echo "ICD: $lib"; nvidia-smi -L
export CLTRANSFER_KERNEL_DIR=$R/cl CLTRANSFER_CACHE_DIR=/tmp/cltcache
$G/cltransfer --list-devices
echo "== test_net on the GPU"; timeout 120 $G/test_net | tail -4
echo "== test_conv on the GPU"; timeout 60 $G/test_conv | tail -1
echo "== caffenet batch 256"; $G/cltransfer-bench train --arch caffenet --batch 256 --iters 10 --json | tee $OUT/caffenet256.json
echo "== caffenet batch 256 layers"; $G/cltransfer-bench train --arch caffenet --batch 256 --iters 3 --layers | awk 'NR<=2 || $(NF-1)+0 > 3'
echo "== caffenet frozen 1..5"; $G/cltransfer-bench train --arch caffenet --batch 256 --iters 10 --lowest 6 | tail -1
echo "== small batch 128"; $G/cltransfer-bench train --arch small --batch 128 --iters 20 --json | tee $OUT/small128.json
echo "== compare caffenet"; timeout 150 python3 $R/bench/compare --arch caffenet --batch 256 --rounds 3 --iters 10 --torch-device cuda --bench $G/cltransfer-bench --json | tee $OUT/compare-caffenet.json
echo "== compare small"; timeout 60 python3 $R/bench/compare --arch small --batch 128 --rounds 3 --iters 20 --torch-device cuda --bench $G/cltransfer-bench --json | tee $OUT/compare-small.json
