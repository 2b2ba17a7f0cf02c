#!/usr/bin/env bash
# One lent GPU session's measurements, in one call (benchmarks/RESULTS.md, "Session 37"): the CUDA-only test, TTA and
# training throughput on the GPU, then full runs of fast.yaml and seed000.yaml inside what is left of the budget.
# Run from the repo root on the device machine, after both data parts are in .devdata/ (../shared/tools/device_data.py)
# and with albumentations importable (the machine has torch but not it):
#   bash benchmarks/gpu_session.sh BUDGET_S        # results also under $OUT when it is set
set -u
budget=${1:?usage: gpu_session.sh BUDGET_S}
out=${OUT:-/tmp/gpu-session}; mkdir -p "$out"
t0=$(date +%s)
left() { echo $(( budget - ($(date +%s) - t0) )); }
step() { echo; echo "== $1 (at $(( $(date +%s) - t0 )) s)"; }
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export KAGGLE_KIT_SHARED_DATA=/tmp/kdata KAGGLE_KIT_DATA=/tmp/kdata

step "data"
python3 .devdata/device_data.py unpack .devdata /tmp/kdata/cifar-10-python || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, albumentations; print('torch', torch.__version__, 'cuda', torch.version.cuda,
'albumentations', albumentations.__version__, 'gpu', torch.cuda.get_device_name(0)); print('cpus', __import__('os').cpu_count())"

step "the CUDA-only unit test"
timeout 90 python3 -m pytest -q -p no:cacheprovider tests/unit/test_augment.py 2>&1 | tail -3

step "bench_predict: TTA throughput on the GPU (seed000, 10,000 images)"
timeout 90 python3 benchmarks/bench_predict.py --model seed000 --images 10000 --batch-size 3000 --repeats 3 \
    2>&1 | tee "$out/bench_predict.md"

step "bench_train: engine vs bare loop on the GPU (seed000, batch 512, 25,000 images/epoch)"
timeout 120 python3 benchmarks/bench_train.py --model seed000 --batch-size 512 --images 25000 --epochs 2 \
    --repeats 1 --workers 4 2>&1 | tee "$out/bench_train.md"

step "full recipe runs"
python3 benchmarks/bench_gpu_recipes.py pipelines/fast.yaml pipelines/seed000.yaml --budget-s $(( $(left) - 20 )) \
    --runs-root /tmp/gpu-runs | tee "$out/recipes.md"
for r in /tmp/gpu-runs/*/; do cp "$r/metrics.csv" "$out/metrics_$(basename "$r").csv" 2>/dev/null; done
step "end"
cat "$out/recipes.md"
