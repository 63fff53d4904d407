"""Digit detection on canvases with an anchor-free CenterNet head, scored by COCO mAP (pycocotools).

The head predicts, on a stride-4 grid, a per-class centre heatmap, each object's box size and the
sub-cell offset of its centre (Zhou et al., "Objects as Points", 2019).
"""
from __future__ import annotations

import contextlib
import io
import math
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torch import Tensor, nn

from nasbench.tasks.base import Split
from nasbench.tasks.common import HEAD_WIDTH, DigitsTask, FusedFeatures, infer
from nasbench.tasks.digits import CANVAS_SIZE, render_canvases, standardise

#: Input pixels per cell of the output grid.
OUTPUT_STRIDE = 4
#: Peaks kept per image when decoding.
MAX_DETECTIONS = 16
#: CenterNet's weight of the size loss and the box overlap its Gaussian radius guarantees.
SIZE_WEIGHT = 0.1
MIN_OVERLAP = 0.7
#: Initial heatmap bias: every centre probability starts at 0.1 (CenterNet's prior).
HEATMAP_PRIOR = 0.1


class CentreNetHead(nn.Module):
    """Features fused at stride 4, then 1x1 convs to centre-heatmap logits, box sizes and centre offsets."""

    def __init__(self, channels: Sequence[int], strides: Sequence[int], num_classes: int, width: int = HEAD_WIDTH) -> None:
        super().__init__()
        if OUTPUT_STRIDE not in strides:
            raise ValueError(f"the detection head needs a stride-{OUTPUT_STRIDE} feature, got strides {tuple(strides)}")
        self.fuse = FusedFeatures(channels, list(strides).index(OUTPUT_STRIDE), width)
        self.heatmap = nn.Conv2d(width, num_classes, 1)
        self.size = nn.Conv2d(width, 2, 1)
        self.offset = nn.Conv2d(width, 2, 1)
        nn.init.constant_(self.heatmap.bias, math.log(HEATMAP_PRIOR / (1 - HEATMAP_PRIOR)))

    def forward(self, features: Sequence[Tensor]) -> dict[str, Tensor]:
        x = self.fuse(features)
        return {"heatmap": self.heatmap(x), "size": self.size(x), "offset": self.offset(x)}


def gaussian_radius(height: Tensor, width: Tensor) -> Tensor:
    """CenterNet's radius: the largest centre shift keeping IoU >= ``MIN_OVERLAP`` with the true box."""
    o = MIN_OVERLAP
    b1, c1 = height + width, width * height * (1 - o) / (1 + o)
    b2, c2 = 2 * (height + width), (1 - o) * width * height
    b3, c3 = -2 * o * (height + width), (o - 1) * width * height
    r1 = (b1 + (b1**2 - 4 * c1).sqrt()) / 2
    r2 = (b2 + (b2**2 - 16 * c2).sqrt()) / 2
    r3 = (b3 + (b3**2 - 16 * o * c3).sqrt()) / 2
    return torch.minimum(torch.minimum(r1, r2), r3)


def encode(boxes: Tensor, num_classes: int, grid: tuple[int, int]) -> dict[str, Tensor]:
    """Dense training targets of padded boxes ``(N, K, 5)``: Gaussian centre heatmaps, and box size
    and centre offset (in grid cells) with a ``centre`` indicator where they apply."""
    n, (h, w) = len(boxes), grid
    image, slot = (boxes[..., 4] >= 0).nonzero(as_tuple=True)
    box = boxes[image, slot]
    label = box[:, 4].long()
    centre = (box[:, :2] + box[:, 2:4]) / (2 * OUTPUT_STRIDE)
    cell = centre.floor().long()
    size = (box[:, 2:4] - box[:, :2]) / OUTPUT_STRIDE
    radius = gaussian_radius(size[:, 1], size[:, 0]).floor().clamp(min=0)[:, None, None]
    dy = torch.arange(h)[None, :, None] - cell[:, 1, None, None]
    dx = torch.arange(w)[None, None, :] - cell[:, 0, None, None]
    sigma = (2 * radius + 1) / 6
    blob = torch.exp(-(dx**2 + dy**2) / (2 * sigma**2)) * ((dx.abs() <= radius) & (dy.abs() <= radius))
    channel = (image * num_classes + label)[:, None].expand(-1, h * w)
    heatmap = torch.zeros(n * num_classes, h * w).scatter_reduce_(0, channel, blob.flatten(1), "amax")
    targets = {
        "heatmap": heatmap.view(n, num_classes, h, w),
        "size": torch.zeros(n, 2, h, w),
        "offset": torch.zeros(n, 2, h, w),
        "centre": torch.zeros(n, h, w),
        "boxes": boxes,
    }
    targets["size"][image, :, cell[:, 1], cell[:, 0]] = size
    targets["offset"][image, :, cell[:, 1], cell[:, 0]] = centre - cell
    targets["centre"][image, cell[:, 1], cell[:, 0]] = 1.0
    return targets


def decode(heatmap: Tensor, size: Tensor, offset: Tensor) -> Tensor:
    """Detections ``(N, MAX_DETECTIONS, 6)`` rows ``[x1, y1, x2, y2, score, class]`` in input pixels,
    from centre probabilities: 3x3 local maxima, top-k over classes and positions."""
    n, c, h, w = heatmap.shape
    peaks = heatmap * (F.max_pool2d(heatmap, 3, stride=1, padding=1) == heatmap)
    scores, index = peaks.flatten(1).topk(MAX_DETECTIONS)
    label, position = index // (h * w), index % (h * w)
    at_peaks = position[:, None].expand(-1, 2, -1)
    box_size = size.flatten(2).gather(2, at_peaks) * OUTPUT_STRIDE
    centre_x = (position % w + offset.flatten(2).gather(2, at_peaks)[:, 0]) * OUTPUT_STRIDE
    centre_y = (position // w + offset.flatten(2).gather(2, at_peaks)[:, 1]) * OUTPUT_STRIDE
    half_w, half_h = box_size[:, 0] / 2, box_size[:, 1] / 2
    return torch.stack(
        [centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h, scores, label.float()], dim=-1
    )


def coco_map(detections: Tensor, boxes: Tensor, num_classes: int) -> dict[str, float]:
    """COCO box mAP@[.5:.95] (``mAP``) and mAP@.5 (``mAP50``) from pycocotools' official evaluation."""
    image, slot = (boxes[..., 4] >= 0).nonzero(as_tuple=True)
    truth = boxes[image, slot].tolist()
    ground_truth = COCO()
    ground_truth.dataset = {
        "images": [{"id": i} for i in range(len(boxes))],
        "categories": [{"id": c} for c in range(num_classes)],
        "annotations": [
            # ids start at 1: COCOeval treats a match with annotation id 0 as no match.
            {"id": k + 1, "image_id": i, "category_id": int(b[4]), "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
             "area": (b[2] - b[0]) * (b[3] - b[1]), "iscrowd": 0}
            for k, (i, b) in enumerate(zip(image.tolist(), truth))
        ],
    }
    results = [
        {"image_id": i, "category_id": int(d[5]), "bbox": [d[0], d[1], d[2] - d[0], d[3] - d[1]], "score": d[4]}
        for i, per_image in enumerate(detections.tolist())
        for d in per_image
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth.createIndex()
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(results), "bbox")
        # Only the statistics reported are evaluated: all object areas, up to 100 detections per image.
        evaluation.params.areaRng, evaluation.params.areaRngLbl, evaluation.params.maxDets = [[0, 1e10]], ["all"], [100]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][..., 0, 0]  # (IoU thresholds, recall points, classes)
    return {"mAP": _mean_defined(precision), "mAP50": _mean_defined(precision[evaluation.params.iouThrs == 0.5])}


def _mean_defined(precision: np.ndarray) -> float:
    """Mean of the precisions COCOeval defines (-1 marks classes without ground truth), as its ``summarize`` does."""
    defined = precision[precision > -1]
    return float(defined.mean()) if defined.size else 0.0


def focal_loss(logits: Tensor, target: Tensor) -> Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss (alpha 2, beta 4), per positive location."""
    positive = target.eq(1).float()
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = log_p.exp()
    loss = positive * (1 - p) ** 2 * log_p + (1 - positive) * (1 - target) ** 4 * p**2 * log_not_p
    return -loss.sum() / positive.sum().clamp(min=1)


class DetectionTask(DigitsTask):
    """Find every digit on a canvas: its box and class; metric: COCO mAP@[.5:.95]."""

    name = "det"
    description = "box and class of every digit on a 24x24 canvas of 1-3 digits; COCO mAP@[.5:.95] (pycocotools)"
    metric_name = "mAP"
    num_classes = 10
    input_shape = (1, CANVAS_SIZE, CANVAS_SIZE)
    #: Chosen by measurement (``docs/task_calibration.md``): with the shared batch of 64 an epoch is
    #: 16 steps, and after 4 epochs the networks had barely started to learn (validation mAP
    #: 0.08-0.14), so seed noise was as large as the differences between architectures. Batches of
    #: 16 take 4x the steps per epoch; by 6 epochs the networks near their plateau.
    recipe_changes = {"batch_size": 16, "lr": 6e-3}
    search_epochs = 6
    final_epochs = 12

    def build_split(self, name: str) -> Split:
        canvases = render_canvases(name)
        inputs = standardise(canvases.images, render_canvases("train").images)
        _, height, width = self.input_shape
        return Split(inputs, encode(canvases.boxes, self.num_classes, (height // OUTPUT_STRIDE, width // OUTPUT_STRIDE)))

    def head(self, channels: Sequence[int], strides: Sequence[int], width: int | None = None) -> nn.Module:
        return CentreNetHead(channels, strides, self.num_classes, width or HEAD_WIDTH)

    def loss(self, outputs: dict[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
        centres = targets["centre"][:, None]
        count = centres.sum().clamp(min=1)
        size = (F.l1_loss(outputs["size"], targets["size"], reduction="none") * centres).sum() / count
        offset = (F.l1_loss(outputs["offset"], targets["offset"], reduction="none") * centres).sum() / count
        return focal_loss(outputs["heatmap"], targets["heatmap"]) + SIZE_WEIGHT * size + offset

    def detect(self, model: nn.Module, inputs: Tensor) -> Tensor:
        """Decoded detections of ``model`` on ``inputs`` (see ``decode``)."""
        outputs = infer(model, inputs)
        return decode(outputs["heatmap"].sigmoid(), outputs["size"], outputs["offset"])

    def evaluate_details(self, model: nn.Module, split: Split) -> dict[str, float]:
        """``mAP`` (COCO mAP@[.5:.95]) and ``mAP50`` (mAP@.5) of ``model`` on ``split``."""
        return coco_map(self.detect(model, split.inputs), split.targets["boxes"], self.num_classes)

    def score(self, model: nn.Module, split: Split) -> float:
        return self.evaluate_details(model, split)["mAP"]
