# bench/gpu-env.sh — sourced by bench/gpu-run.sh on the device machine: the environment the packed
# build (bench/gpu-pack.sh) needs there. Sets R (the checkout), G (.gpu), B (the packed build).
#  - NVIDIA's OpenCL through the ICD loader: an .icd file naming libnvidia-opencl.so.1 in a folder
#    of its own (OCL_ICD_VENDORS), so the default device is the GPU and PoCL is not seen. Where no
#    NVIDIA library is found (a dry run on a CPU machine) the system's ICDs are left as they are.
#  - The libraries carried in .gpu/lib, which the bare machine lacks.
#  - Paths: the binaries and CTestTestfiles name the checkout as the packing machine spelled it
#    (.gpu/root); where the device's checkout is elsewhere, that path is made a link to it if it is
#    free, the CTestTestfiles are rewritten, and the kernel, tuning and reference paths are set.
#  - Fashion-MNIST where the data tool looks for it by default.
R=$PWD
G=$R/.gpu
B=$G/build
[ -x "$B/cltransfer" ] || { echo "gpu-env: no $B/cltransfer: run bench/gpu-pack.sh here first and carry .gpu" >&2; return 1; }
export LD_LIBRARY_PATH=$G/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

nvidia_cl=$(ldconfig -p | awk '/libnvidia-opencl.so.1/ && !found++ {print $NF}')
[ -z "$nvidia_cl" ] && nvidia_cl=$(find /usr/local/nvidia /usr/lib /usr/lib64 -name 'libnvidia-opencl.so.1*' 2>/dev/null | head -1)
if [ -n "$nvidia_cl" ]; then
    mkdir -p /tmp/clt-icd && echo "$nvidia_cl" > /tmp/clt-icd/nvidia.icd
    export OCL_ICD_VENDORS=/tmp/clt-icd
    echo "gpu-env: NVIDIA OpenCL $nvidia_cl"
else
    echo "gpu-env: no libnvidia-opencl.so.1 here: the system's OpenCL devices are used (a dry run)"
fi

packed_root=$(cat "$G/root")
if [ "$packed_root" != "$R" ]; then
    if [ ! -e "$packed_root" ]; then
        mkdir -p "$(dirname "$packed_root")" && ln -s "$R" "$packed_root"
    fi
    # once: a second call would rewrite the prefix again where $R begins with the packed path
    grep -qF "$packed_root/.gpu/build" "$B/tests/CTestTestfile.cmake" &&
        find "$B" -name CTestTestfile.cmake -exec sed -i "s#$packed_root#$R#g" {} +
    export CLTRANSFER_KERNEL_DIR=$R/cl CLTRANSFER_TUNING=$R/conf/clblast-tuning.txt
    export CLTRANSFER_REFERENCE=$R/conf/reference/yosinski2014_networks.csv
    echo "gpu-env: packed at $packed_root, running at $R"
fi

fmnist=/usr/share/datasets/fashion-mnist
if [ ! -e "$fmnist/train-images-idx3-ubyte.gz" ] && [ -d "$G/fashion-mnist" ]; then
    mkdir -p "$(dirname "$fmnist")" && cp -r "$G/fashion-mnist" "$fmnist"
fi
export CLTRANSFER_CACHE_DIR=/tmp/clt-gpu-cache/cltransfer
