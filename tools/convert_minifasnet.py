"""Convert Silent-Face-Anti-Spoofing's two MiniFASNet checkpoints (PyTorch) to ONNX for cv2.dnn.

Run once, in a throwaway venv with PyTorch (never a dependency of Muster):

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 onnx opencv-python-headless numpy
    /tmp/torchvenv/bin/python tools/convert_minifasnet.py SILENT_FACE_CHECKOUT vision/liveness/data

SILENT_FACE_CHECKOUT is a checkout of https://github.com/minivision-ai/Silent-Face-Anti-Spoofing
(Apache-2.0; commit b6d5f04 was used). Its network definitions (`src/model_lib/MiniFASNet.py`)
are imported from there, not copied. The script checks that OpenCV's output on the exported
file matches PyTorch's on random inputs and on the checkout's sample photos, and prints the
largest difference.
"""

from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

#: file in resources/anti_spoof_models -> (class name, input side); names follow upstream's
#: "<crop scale>_<h>x<w>_<class>.pth" convention
CHECKPOINTS = {
    "2.7_80x80_MiniFASNetV2.pth": "MiniFASNetV2",
    "4_0_0_80x80_MiniFASNetV1SE.pth": "MiniFASNetV1SE",
}
SIDE = 80


def load(checkout: Path, name: str) -> torch.nn.Module:
    sys.path.insert(0, str(checkout))
    from src.model_lib import MiniFASNet  # type: ignore[import-not-found]

    kernel = ((SIDE + 15) // 16, (SIDE + 15) // 16)
    model = getattr(MiniFASNet, CHECKPOINTS[name])(conv6_kernel=kernel)
    state = torch.load(checkout / "resources/anti_spoof_models" / name, map_location="cpu")
    state = OrderedDict((k.removeprefix("module."), v) for k, v in state.items())
    model.load_state_dict(state)
    return model.eval()


def main() -> None:
    checkout, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    samples = sorted((checkout / "images/sample").glob("image_[FT]?.jpg"))
    for name in CHECKPOINTS:
        model = load(checkout, name)
        target = out / (name.removesuffix(".pth") + ".onnx")
        dummy = torch.zeros(1, 3, SIDE, SIDE)
        torch.onnx.export(
            model,
            (dummy,),
            str(target),
            input_names=["input"],
            output_names=["logits"],
            opset_version=13,
            dynamo=False,
        )
        net = cv2.dnn.readNetFromONNX(str(target))
        inputs = [rng.uniform(0, 255, (SIDE, SIDE, 3)).astype(np.float32) for _ in range(8)]
        # the samples, squashed to 80x80 whole (the comparison needs pixels, not a face crop)
        inputs += [cv2.resize(cv2.imread(str(s)), (SIDE, SIDE)).astype(np.float32) for s in samples]
        worst = 0.0
        for bgr in inputs:
            x = torch.from_numpy(bgr.transpose(2, 0, 1)[None].copy())
            with torch.no_grad():
                ref = F.softmax(model(x), dim=1).numpy()
            net.setInput(cv2.dnn.blobFromImage(bgr))
            logits = net.forward()
            got = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
            worst = max(worst, float(np.abs(got - ref).max()))
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        print(f"{target.name}: {target.stat().st_size} bytes sha256 {digest}")
        print(
            f"  largest softmax difference OpenCV vs PyTorch on {len(inputs)} inputs: {worst:.2e}"
        )


if __name__ == "__main__":
    main()
