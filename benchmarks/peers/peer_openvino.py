#!/usr/bin/env python3
"""The OpenVINO peer of benchmarks/cpu_workloads, inference only (vgg16-forward, resnet50-forward, mobilenetv2-forward; one per run):
peer_pytorch.py's model converted in this process (openvino.convert_model), compiled
for the CPU with an FP32 inference precision hint (OpenVINO would otherwise pick BF16 on
CPUs that have it), N inference threads, one stream, one synchronous request.
--precision bf16 sets the hint to bf16 (OpenVINO's BF16 mode, typenet's
--precision bf16 peer); the plugin's own reading of the hint is printed.

    peer_openvino.py [--threads 2] [--iterations N] [--warmup N] [--precision f32|bf16] [workload]

Prints `<workload> nchw: openvino <x> img/s (...)`.
"""
import sys
import warnings

import openvino as ov
import torch

import peer_pytorch
import workloads as wl


def main():
    p = wl.parser(__doc__.splitlines()[0], wl.INFERENCE)
    p.add_argument("--precision", choices=("f32", "fp32", "bf16"), default="f32",
                   help="INFERENCE_PRECISION_HINT (fp32 is read as f32)")
    args = p.parse_args()
    wl.check(p, args)
    if len(args.workloads) > 1:
        p.error("one workload per run (each converts its own model)")
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)  # for the conversion's tracing only
    workload = args.workloads[0] if args.workloads else "vgg16-forward"
    batch = wl.SETTINGS[workload][0]
    x = peer_pytorch.random_images(batch, wl.image_of(workload))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notices from the tracing
        model = ov.convert_model(peer_pytorch.FEATURES[workload](), example_input=x)

    core = ov.Core()
    config = {
        "INFERENCE_PRECISION_HINT": "bf16" if args.precision == "bf16" else "f32",
        "INFERENCE_NUM_THREADS": str(args.threads),
        "NUM_STREAMS": "1",
        "PERFORMANCE_HINT": "LATENCY",
    }
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    images = x.numpy()

    def step():
        request.infer([images])

    iterations = wl.iterations_of(workload, args)
    seconds = wl.median_seconds(step, args.warmup, iterations)
    precision = compiled.get_property("INFERENCE_PRECISION_HINT")  # what the plugin settled on
    precision = precision.to_string() if hasattr(precision, "to_string") else str(precision)
    threads = compiled.get_property("INFERENCE_NUM_THREADS")
    wl.report(workload, "nchw", "openvino", batch, seconds, iterations,
              f"{threads} threads, precision {precision}, openvino {ov.get_version().split('-')[0]}")


if __name__ == "__main__":
    sys.exit(main())
