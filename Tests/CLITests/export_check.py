"""gan-sample export checked with the tools its users run (ExportTests.swift drives this file).

    python export_check.py prepare|onnx|torch SPEC.json

SPEC: {"gan_sample": PATH, "readme": Checkpoints/README.md, "main_readme": README.md, "opsets": [...],
       "cases": [{"name": NAME, "run": RUN_DIR, "dir": WORK_DIR}]}

prepare (numpy only): per case, fixed noise z.npy (drawn from the stored prior) through
    `gan-sample generate --noise` (and `--raw` when there is a generator_ema), and x.npy (G's
    samples plus a wider copy, so that clamps and saturations are reached) through
    `gan-sample score --packs`: the references, in data units. A class-conditional model's rows
    get labels i mod K (g_class.npy; d_class.npy for a D that takes them, `score --labels`),
    which the ONNX files take as their second input, `class`.
onnx: `gan-sample export -o *.onnx` at every opset, `onnx.checker.check_model(full_check=True)`,
    onnxruntime on the same inputs, also on a few rows only (the batch dimension is symbolic);
    and README.md's onnxruntime snippet against `generate --noise` of its z.
torch: `gan-sample export -o *.safetensors`, loaded into the PyTorch module that the python
    snippet of Checkpoints/README.md builds (the snippet itself, executed here).

Prints one line `EXPORT-CHECK {json}`: per case and network, the largest absolute difference
from the reference, or the error.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

mode, spec = sys.argv[1], json.loads(Path(sys.argv[2]).read_text())


def gan_sample(*args):
    r = subprocess.run([spec["gan_sample"], *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"gan-sample {' '.join(map(str, args[:2]))}...: exit {r.returncode}: {r.stderr.strip()}")
    return r


def networks(case):
    """(label, export flags, input file, reference file) of every network the case serves."""
    d = Path(case["dir"])
    nets = [("generator", ["--network", "g"], d / "z.npy", d / "g.npy")]
    if (d / "g_raw.npy").exists():
        nets.append(("generator_raw", ["--network", "g", "--raw"], d / "z.npy", d / "g_raw.npy"))
    nets.append(("discriminator", ["--network", "d"], d / "x.npy", d / "d.npy"))
    return nets


def classes(case):
    """K of a class-conditional model (its `info --json` "classes"), else None."""
    info = json.loads(gan_sample("info", case["run"], "--json").stdout)
    return info["classes"]["count"] if "classes" in info else None


def prepare(case):
    d, run = Path(case["dir"]), case["run"]
    info = json.loads(gan_sample("info", run, "--json").stdout)
    data, rng = info["data"], np.random.default_rng(7)
    prior, shape = data["noise_prior"], (32, data["noise_dimension"])
    z = (rng.normal(prior["mean"], prior["std"], shape) if prior["kind"] == "normal"
         else rng.uniform(prior["low"], prior["high"], shape)).astype(np.float32)
    np.save(d / "z.npy", z)
    gan_sample("generate", run, "--noise", d / "z.npy", "-o", d / "g.npy")
    if "generator_ema" in info["networks"]:
        gan_sample("generate", run, "--noise", d / "z.npy", "--raw", "-o", d / "g_raw.npy")
    g = np.load(d / "g.npy")
    wide = (g * 3 - 1 + rng.normal(0, 0.5, g.shape)).astype(np.float32)
    np.save(d / "x.npy", np.concatenate([g, wide]))
    labels = []
    if "classes" in info:  # generate without --class labels sample i with i mod K
        k = info["classes"]["count"]
        np.save(d / "g_class.npy", np.arange(len(z), dtype=np.int64) % k)
        if info["classes"]["conditioning"] != "acgan":
            np.save(d / "d_class.npy", np.arange(2 * len(z), dtype=np.int64) % k)
            labels = ["--labels", d / "d_class.npy"]
    gan_sample("score", run, d / "x.npy", "--packs", "-o", d / "d.npy", *labels)
    return {"pack": len(np.load(d / "x.npy")) // len(np.load(d / "d.npy"))}


def check_onnx(case):
    import onnx
    import onnxruntime as ort
    out = {}
    for label, flags, inputs, reference in networks(case):
        x, ref = np.load(inputs), np.load(reference)
        pack = len(x) // len(ref)
        for opset in spec["opsets"]:
            path = Path(case["dir"]) / f"{label}-{opset}.onnx"
            gan_sample("export", case["run"], *flags, "--opset", opset, "-o", path)
            model = onnx.load(str(path))
            onnx.checker.check_model(model, full_check=True)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            labels = Path(case["dir"]) / ("g_class.npy" if label.startswith("generator") else "d_class.npy")
            if len(session.get_inputs()) > 1:  # a class-conditional network's `class` INT64 [N]
                c = np.load(labels)
                y = session.run(None, {name: x, "class": c})[0]
                few = session.run(None, {name: x[:3 * pack], "class": c[:3 * pack]})[0]
            else:
                y = session.run(None, {name: x})[0]
                few = session.run(None, {name: x[:3 * pack]})[0]
            if y.shape != ref.shape or few.shape != ref[:3].shape:
                raise RuntimeError(f"{path.name}: output shape {y.shape} / {few.shape}, expected {ref.shape} / {ref[:3].shape}")
            out[f"{label}.onnx{opset}"] = float(max(np.abs(y - ref).max(), np.abs(few - ref[:3]).max()))
    out.update(readme_onnx_snippet(case))
    return out


def readme_onnx_snippet(case):
    """README.md's onnxruntime snippet, run where generator.onnx is the default export, against
    `generate --noise` of the z it drew (for a normal prior, which the snippet assumes)."""
    d = Path(case["dir"])
    if classes(case) is not None:
        return {}  # the snippet feeds z alone; a conditional G also takes `class` (checked above)
    session_dir = d / "readme"
    session_dir.mkdir(exist_ok=True)
    gan_sample("export", case["run"], "-o", session_dir / "generator.onnx")
    if json.loads(gan_sample("info", case["run"], "--json").stdout)["data"]["noise_prior"]["kind"] != "normal":
        return {}
    snippet, here = {"__name__": "readme_snippet"}, Path.cwd()
    os.chdir(session_dir)
    try:
        exec(python_block("onnxruntime", "main_readme"), snippet)
    finally:
        os.chdir(here)
    np.save(session_dir / "z.npy", snippet["z"])
    gan_sample("generate", case["run"], "--noise", session_dir / "z.npy", "-o", session_dir / "g.npy")
    return {"readme.onnx": float(np.abs(snippet["samples"] - np.load(session_dir / "g.npy")).max())}


def python_block(marker, readme="readme"):
    """The ```python block of Checkpoints/README.md (or spec[readme]) that contains `marker`."""
    text = Path(spec[readme]).read_text()
    blocks = [b.split("\n```", 1)[0] for b in text.split("```python\n")[1:]]
    return next(b for b in blocks if marker in b)


def check_torch(case):
    if classes(case) is not None:
        return {}  # the README's module takes no labels (ExportTests leaves conditional cases out)
    snippet = {"__name__": "export_check_snippet"}
    exec(python_block("safetensors"), snippet)
    out = {}
    for label, flags, inputs, reference in networks(case):
        path = Path(case["dir"]) / f"{label}.safetensors"
        gan_sample("export", case["run"], *flags, "-o", path)
        net, meta = snippet["load"](str(path))
        y = snippet["serve"](net, meta, np.load(inputs)).numpy()
        ref = np.load(reference)
        if y.shape != ref.shape:
            raise RuntimeError(f"{path.name}: output shape {y.shape}, expected {ref.shape}")
        out[f"{label}.torch"] = float(np.abs(y - ref).max())
    return out


result = {"cases": {}}
if mode == "torch":
    try:
        import torch
        result["torch"] = torch.__version__
    except ImportError as e:
        result["torch"] = None
        result["reason"] = str(e)
for case in spec["cases"]:
    if mode == "torch" and result["torch"] is None:
        break
    try:
        result["cases"][case["name"]] = {"prepare": prepare, "onnx": check_onnx, "torch": check_torch}[mode](case)
    except Exception as e:  # reported per case; the Swift test fails on it
        result["cases"][case["name"]] = {"error": f"{type(e).__name__}: {e}".replace("\n", " ")}
print("EXPORT-CHECK " + json.dumps(result))
