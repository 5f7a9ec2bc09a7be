"""Single-threaded PyTorch reference for bench/train.ts: the same four models, same batch sizes, Adam.

Usage: /usr/bin/python3 bench/torch_train.py [budget_seconds] [model,model,...]
       /usr/bin/python3 bench/torch_train.py budget ceiling '<json list of conv shapes>'   (GMAC/s per conv)
(bench/train.ts runs it once per model and round, interleaved with its own measurements.)
Prints one JSON object (last line) with, per model, training samples/s (batch 64), inference samples/s (batch 256)
and batch-1 latency, measured both in wall time and in process CPU time (the machine is shared; CPU time is what
the ratio in bench/train.ts uses).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)
BUDGET = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
ONLY = sys.argv[2].split(',') if len(sys.argv) > 2 and sys.argv[2] and sys.argv[2] != 'ceiling' else None


class MnistCnn(nn.Module):
    # buildCnn({inputShape: [28, 28, 1], numClasses: 10, filters: 16, depth: 2, dense: 64})
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3)  # valid
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)  # same
        self.d1 = nn.Linear(6 * 6 * 32, 64)
        self.d2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.d2(F.relu(self.d1(torch.flatten(x, 1))))


class DsCnn(nn.Module):
    # buildDsCnn(): conv 10x4/2 'same' 64, 4 x (dw 3x3 + BN + ReLU + pw 1x1 + BN + ReLU), GAP, dense 12
    def __init__(self, f=64, blocks=4, classes=12):
        super().__init__()
        self.c0 = nn.Conv2d(1, f, (10, 4), stride=2, bias=False)
        self.b0 = nn.BatchNorm2d(f)
        layers = []
        for _ in range(blocks):
            layers += [nn.Conv2d(f, f, 3, padding=1, groups=f, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                       nn.Conv2d(f, f, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(f, classes)

    def forward(self, x):
        x = F.pad(x, (1, 1, 4, 5))  # TF 'same' for 49x10 input, 10x4 kernel, stride 2 → 25x5
        x = F.relu(self.b0(self.c0(x)))
        x = self.body(x)
        return self.fc(x.mean((2, 3)))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.b2 = nn.BatchNorm2d(cout)
        self.sc = None if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride=stride)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.sc is None else self.sc(x)))


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(3, 16, 3, padding=1)
        self.b0 = nn.BatchNorm2d(16)
        self.s = nn.Sequential(ResBlock(16, 16, 1), ResBlock(16, 32, 2), ResBlock(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.s(F.relu(self.b0(self.c0(x))))
        return self.fc(x.mean((2, 3)))


class Autoencoder(nn.Module):
    def __init__(self, d=640, hidden=(128, 128, 128, 128), bottleneck=8):
        super().__init__()
        widths = list(hidden) + [bottleneck] + list(reversed(hidden))
        layers, cin = [], d
        for w in widths:
            layers += [nn.Linear(cin, w), nn.BatchNorm1d(w), nn.ReLU()]
            cin = w
        layers.append(nn.Linear(cin, d))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


MODELS = {
    'mnist-cnn': (MnistCnn, (1, 28, 28), 10),
    'ds-cnn': (DsCnn, (1, 49, 10), 12),
    'resnet8': (ResNet8, (3, 32, 32), 10),
    'autoencoder': (Autoencoder, (640,), 0),
}


def timed(fn, budget, min_iters=2):
    fn()  # warm-up
    w0, c0, n = time.perf_counter(), time.process_time(), 0
    while n < min_iters or time.perf_counter() - w0 < budget:
        fn()
        n += 1
    return n, time.perf_counter() - w0, time.process_time() - c0


def bench(name):
    cls, shape, k = MODELS[name]
    model = cls()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(64, *shape)
    y = torch.randint(0, max(k, 1), (64,))

    def step():
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y) if k else F.mse_loss(out, x)
        loss.backward()
        opt.step()

    model.train()
    n, wall, cpu = timed(step, BUDGET)
    train_wall, train_cpu = 64 * n / wall, 64 * n / cpu
    model.eval()
    xi = torch.randn(256, *shape)
    x1 = torch.randn(1, *shape)
    with torch.no_grad():
        n, wall, cpu = timed(lambda: model(xi), BUDGET / 2)
        inf_wall, inf_cpu = 256 * n / wall, 256 * n / cpu
        n, wall, cpu = timed(lambda: model(x1), BUDGET / 4, 10)
        lat_wall, lat_cpu = 1000 * wall / n, 1000 * cpu / n
    return {
        'trainSamplesPerSec': train_wall, 'trainSamplesPerCpuSec': train_cpu,
        'inferSamplesPerSec': inf_wall, 'inferSamplesPerCpuSec': inf_cpu,
        'latencyMs': lat_wall, 'latencyCpuMs': lat_cpu,
    }


def ceiling(shapes, budget):
    """GMAC/s of single convolutions (forward, weight gradient, input gradient) for bench/train.ts's ceiling table.
    shapes: list of {name, n, h, w, ci, co, k, s, pad}; NHWC sizes, converted to PyTorch's NCHW."""
    out = {}
    for c in shapes:
        x = torch.randn(c['n'], c['ci'], c['h'], c['w'])
        wt = torch.randn(c['co'], c['ci'], c['k'], c['k'])
        y = F.conv2d(x, wt, stride=c['s'], padding=c['pad'])
        dy = torch.randn_like(y)
        macs = y.numel() * c['ci'] * c['k'] * c['k']

        def rate(fn):
            n, _, cpu = timed(fn, budget, 3)
            return macs * n / cpu / 1e9

        with torch.no_grad():
            fwd = rate(lambda: F.conv2d(x, wt, stride=c['s'], padding=c['pad']))
            wgrad = rate(lambda: torch.nn.grad.conv2d_weight(x, wt.shape, dy, stride=c['s'], padding=c['pad']))
            igrad = rate(lambda: torch.nn.grad.conv2d_input(x.shape, wt, dy, stride=c['s'], padding=c['pad']))
        out[c['name']] = {'forward': fwd, 'filterGrad': wgrad, 'inputGrad': igrad}
    return out


if __name__ == '__main__':
    if len(sys.argv) > 3 and sys.argv[2] == 'ceiling':
        print(json.dumps({'torch': torch.__version__, 'ceiling': ceiling(json.loads(sys.argv[3]), BUDGET)}))
        sys.exit(0)
    res = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'models': {}}
    for name in MODELS:
        if ONLY and name not in ONLY:
            continue
        res['models'][name] = bench(name)
        r = res['models'][name]
        print(f"{name:12s} train {r['trainSamplesPerCpuSec']:9.0f}/cpu-s  infer {r['inferSamplesPerCpuSec']:9.0f}/cpu-s  "
              f"batch-1 {r['latencyCpuMs']:.3f} cpu-ms", file=sys.stderr)
    print(json.dumps(res))
