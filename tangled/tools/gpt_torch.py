# Generated from book/224-gpt.nw; edit the book, not this file.
"""The PyTorch reference of `tp gpt bench`: GPT-T training and GPT-I
decoding in eager mode, the model of the GPT chapter written the usual way.
Prints two lines, `train_tokens_per_s N` and `decode_tokens_per_s N`."""
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

# <<gpt-torch: the model>>
class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.c_attn, self.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def attention(self, x, cache):
        b, t, c = x.shape
        d = c // self.heads
        q, k, v = (z.view(b, t, self.heads, d).transpose(1, 2)
                   for z in self.c_attn(x).split(c, dim=2))
        if cache is not None:  # decoding: append to the cache, see it all
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        s = q @ k.transpose(-2, -1) / math.sqrt(d)
        if cache is None:
            future = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
            s = s.masked_fill(future, float("-inf"))
        y = F.softmax(s, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))

    def forward(self, x, cache=None):
        x = x + self.attention(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)),
                                        approximate="tanh"))
# <<gpt-torch: the model>>
class GPT(nn.Module):
    def __init__(self, vocab=256, positions=128, layers=4, heads=4, c=256):
        super().__init__()
        self.wte = nn.Embedding(vocab, c)
        self.wpe = nn.Embedding(positions, c)
        self.h = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c)

    def forward(self, tokens, start=0, caches=None):
        t = tokens.shape[1]
        x = self.wte(tokens) + self.wpe(torch.arange(start, start + t))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.T

# <<gpt-torch: timing>>
def train_speed(steps):
    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95),
                            weight_decay=0.1)
    times = []
    for step in range(steps + 2):
        x = torch.randint(0, 256, (8, 129))
        start = time.perf_counter()
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 256), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step >= 2:
            times.append(time.perf_counter() - start)
    return 1024 / statistics.median(times)
# <<gpt-torch: timing>>
@torch.no_grad()
def decode_speed():
    model = GPT(positions=256)
    times = []
    for _ in range(3):
        caches = [[] for _ in model.h]
        token = torch.tensor([[84]])
        start = time.perf_counter()
        for i in range(16 + 240):
            logits = model(token, start=i, caches=caches)
            token = logits[:, -1:].argmax(-1)
        times.append(time.perf_counter() - start)
    return 240 / statistics.median(times)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    print(f"train_tokens_per_s {train_speed(args.steps):.0f}")
    print(f"decode_tokens_per_s {decode_speed():.0f}")
