# Generated from book/385-hardware.nw; edit the book, not this file.
"""PyTorch's scaled_dot_product_attention, causal, timed on the GPU at the
sizes of `tp bench flash`; appends rows in the format of its table."""
import argparse
import statistics
import sys


def sizes(text):
    return [int(x) for x in text.split(",")]


def timed(run, repeat, torch):
    start, stop = torch.cuda.Event(enable_timing=True), \
        torch.cuda.Event(enable_timing=True)
    run(), run()
    seconds = []
    for _ in range(repeat):
        start.record()
        run()
        stop.record()
        stop.synchronize()
        seconds.append(start.elapsed_time(stop) / 1e3)
    return statistics.median(seconds)
# Generated from book/385-hardware.nw; edit the book, not this file.
def measure(torch, heads, n, d, dtype, repeat):
    F = torch.nn.functional
    q, k, v = (torch.randn(1, heads, n, d, device="cuda", dtype=dtype,
                           requires_grad=True) for _ in range(3))
    grad = torch.randn(1, heads, n, d, device="cuda", dtype=dtype)

    def forward():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def both():
        forward().backward(grad)

    with torch.no_grad():
        ahead = timed(forward, repeat, torch)
    return ahead, max(timed(both, repeat, torch) - ahead, 0.0)
# Generated from book/385-hardware.nw; edit the book, not this file.
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--contexts", type=sizes, default=[1024, 4096])
    parser.add_argument("--dims", type=sizes, default=[64, 128])
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=10)
    a = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    if torch is None or not torch.cuda.is_available():
        print("flash_torch.py: no PyTorch with a CUDA device: skipped",
              file=sys.stderr)
        return
    for n in a.contexts:
        for d in a.dims:
            flops = 2.0 * n * (n + 1) * d * a.heads
            for name, dtype in (("fp32", torch.float32),
                                ("bf16", torch.bfloat16)):
                ahead, back = measure(torch, a.heads, n, d, dtype, a.repeat)
                for op, t, work in (("attention", ahead, flops),
                                    ("attention-backward", back,
                                     2.5 * flops)):
                    print(f"torch-sdpa {op} {name}\t{a.heads}\t{n}\t{d}\t"
                          f"{t:.6g}\t{work / t if t > 0 else 0:.6g}\t0\t"
                          f"nan\t-1")


if __name__ == "__main__":
    main()
