"""Where the default autoencoder's 8-hit kit decode spends its time, by torch op (issue 23).

    python benchmarks/profile_decode.py [--checkpoint checkpoints/autoencoder] [--threads 2]

Prints torch.profiler's table of 10 decodes of the kit the drum machine asks for (benchmarks/speed.py's: each pad's
class), after 5 warm-up decodes.
The profiler's own cost makes the total larger than benchmarks/speed.py's decode time; the shares are the point.
"""

import argparse
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import kit_labels  # noqa: E402

from drumgen import checkpoint  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--checkpoint", default="checkpoints/autoencoder")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
torch.set_num_threads(args.threads)
m = checkpoint.load(args.checkpoint).eval()
labels = kit_labels(m)  # None: an unconditional model
y = None if labels is None else torch.tensor([m.config.labels.index(a or m.config.labels[0]) for a in labels])
with torch.inference_mode():
    z = m.sample_latents(len(labels or [None] * 8), torch.Generator().manual_seed(0), y)
    for _ in range(5):
        m.decode(z, y)
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(10):
            m.decode(z, y)
print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))
