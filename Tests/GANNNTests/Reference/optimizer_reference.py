#!/usr/bin/env python3
"""Reference values for Tests/GANNNTests/OptimizerTests.swift, from real PyTorch.

Run:  $HOME/.cache/gan-peers-venv/bin/python Tests/GANNNTests/Reference/optimizer_reference.py

For every case it runs 5 `opt.step()` calls (float32, foreach=False, i.e. PyTorch's single-tensor
implementations) on one 8-value parameter with the gradient sequence below, and prints Swift
`ReferenceCase` literals: the parameter after each step, then the final optimiser state tensors.
Values are printed as the shortest decimal that round-trips the float32, so Swift parses them exactly.

Every input is exactly representable in float32 (dyadic), so Swift builds bit-identical inputs:
  initial value  p0[i]   = (i - 3.5) * 0.375                         i = 0..<8
  gradient       g_t[i]  = (((5*i + 3*t) % 11) - 5) * 2**((t % 3) - 1) / 4    t = 0..<5 (0-based step)
The WGAN case (RMSProp + clamp_(-0.01, 0.01) after each step) starts from `clip_values` and uses
`clip_grad`, which pushes elements 1 and 5 through the clip bounds.
"""
import numpy as np
import torch

N = 8
STEPS = 5


def initial():
    return [(i - 3.5) * 0.375 for i in range(N)]


def grad(t):
    return [(((5 * i + 3 * t) % 11) - 5) * 2.0 ** ((t % 3) - 1) / 4 for i in range(N)]


def fmt(values):
    return "[" + ", ".join(str(np.float32(v)) for v in values) + "]"


def run(name, make, p0=None, clip=None, grad_fn=grad, states=()):
    p = torch.nn.Parameter(torch.tensor(p0 if p0 is not None else initial(), dtype=torch.float32))
    opt = make([p])
    rows = []
    for t in range(STEPS):
        p.grad = torch.tensor(grad_fn(t), dtype=torch.float32)
        opt.step()
        if clip is not None:
            with torch.no_grad():
                p.clamp_(-clip, clip)
        rows.append(fmt(p.detach().tolist()))
    print(f"    static let {name} = ReferenceCase(")
    print("        steps: [")
    for r in rows:
        print(f"            {r},")
    print("        ],")
    st = opt.state[p]
    if states:
        print("        states: [")
        for s in states:
            print(f'            "{s}": {fmt(st[s].tolist())},')
        print("        ])")
    else:
        print("        states: [:])")


# WGAN clipping case: values around the clip bound c = 0.01.
clip_values = [-0.03125, -0.009765625, -0.001953125, 0.0, 0.0048828125, 0.009765625, 0.015625, 0.5]


def clip_grad(t):
    g = grad(t)
    g[5] = -abs(g[5]) - 0.25  # push element 5 upward through +c
    g[1] = abs(g[1]) + 0.25  # push element 1 downward through -c
    return g


print(f"    // torch {torch.__version__}")
run("sgdPlain", lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=False))
run("sgdMomentum", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01,
                                               foreach=False), states=["momentum_buffer"])
run("sgdNesterov", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, foreach=False),
    states=["momentum_buffer"])
run("rmspropDefault", lambda ps: torch.optim.RMSprop(ps, foreach=False), states=["square_avg"])
run("rmspropCentered", lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True,
                                                      weight_decay=0.01, foreach=False),
    states=["square_avg", "momentum_buffer", "grad_avg"])
run("adamDefault", lambda ps: torch.optim.Adam(ps, foreach=False), states=["exp_avg", "exp_avg_sq"])
run("adamGAN", lambda ps: torch.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999), weight_decay=0.01, foreach=False),
    states=["exp_avg", "exp_avg_sq"])
run("wganClip", lambda ps: torch.optim.RMSprop(ps, lr=5e-5, foreach=False), p0=clip_values, clip=0.01,
    grad_fn=clip_grad, states=["square_avg"])
