"""Detection: target encoding, decoding, COCO mAP on hand-made detections, head shapes and loss."""
from __future__ import annotations

import math

import pytest
import torch

from nasbench.tasks import get_task
from nasbench.tasks.detection import MAX_DETECTIONS, OUTPUT_STRIDE, coco_map, decode, encode


@pytest.fixture(scope="module")
def val():
    return get_task("det").split("val")


def perfect_detections(targets: dict[str, torch.Tensor]) -> torch.Tensor:
    return decode(targets["heatmap"], targets["size"], targets["offset"])


def test_targets_have_one_centre_per_object(val):
    objects = (val.targets["boxes"][..., 4] >= 0).sum().item()
    assert val.targets["centre"].sum().item() == objects
    assert (val.targets["heatmap"] == 1).sum().item() == objects
    _, height, width = get_task("det").input_shape
    assert val.targets["heatmap"].shape == (len(val), 10, height // OUTPUT_STRIDE, width // OUTPUT_STRIDE)


def by_position(rows: torch.Tensor) -> torch.Tensor:
    return rows[torch.argsort(rows[:, 0] * 1e4 + rows[:, 1])]


def test_decoding_the_targets_recovers_the_boxes(val):
    detections = perfect_detections(val.targets)
    assert detections.shape == (len(val), MAX_DETECTIONS, 6)
    for found, truth in zip(detections, val.targets["boxes"]):
        truth = truth[truth[:, 4] >= 0]
        confident = found[found[:, 4] == 1]
        assert torch.allclose(by_position(confident[:, [0, 1, 2, 3, 5]]), by_position(truth), atol=1e-4)


def test_map_of_perfect_and_wrong_detections(val):
    boxes = val.targets["boxes"]
    detections = perfect_detections(val.targets)
    assert coco_map(detections, boxes, 10) == {"mAP": 1.0, "mAP50": 1.0}
    shifted = detections.clone()
    shifted[..., :4] += 6
    assert coco_map(shifted, boxes, 10)["mAP50"] < 0.05
    wrong_class = detections.clone()
    wrong_class[..., 5] = (wrong_class[..., 5] + 1) % 10
    assert coco_map(wrong_class, boxes, 10)["mAP50"] < 0.01


def test_score_and_details_of_a_model_predicting_the_targets(val, oracle):
    task = get_task("det")
    outputs = {"heatmap": torch.logit(val.targets["heatmap"]), "size": val.targets["size"], "offset": val.targets["offset"]}
    model = oracle(val, outputs)
    assert task.score(model, val) == 1.0
    assert task.evaluate_details(model, val) == {"mAP": 1.0, "mAP50": 1.0}


def test_encoding_a_hand_made_box():
    boxes = torch.tensor([[[4.0, 8.0, 14.0, 22.0, 3.0], [-1, -1, -1, -1, -1]]])
    targets = encode(boxes, 10, (8, 8))
    # centre (9, 15) px -> (2.25, 3.75) cells: cell (x 2, y 3), offset (0.25, 0.75), size (2.5, 3.5) cells
    assert targets["centre"].nonzero().tolist() == [[0, 3, 2]]
    assert targets["heatmap"][0, 3, 3, 2] == 1 and targets["heatmap"][0].sum() == 1
    assert targets["offset"][0, :, 3, 2].tolist() == [0.25, 0.75]
    assert targets["size"][0, :, 3, 2].tolist() == [2.5, 3.5]


def test_head_outputs_on_the_stride_4_grid():
    task = get_task("det")
    _, height, width = task.input_shape
    grid = (height // OUTPUT_STRIDE, width // OUTPUT_STRIDE)
    channels, strides = (16, 24, 32, 48), (2, 4, 8, 16)
    head = task.head(channels, strides)
    outputs = head([torch.randn(2, c, math.ceil(height / s), math.ceil(width / s)) for c, s in zip(channels, strides)])
    assert {key: tuple(value.shape) for key, value in outputs.items()} == {
        "heatmap": (2, 10, *grid), "size": (2, 2, *grid), "offset": (2, 2, *grid)
    }
    with pytest.raises(ValueError, match="stride-4"):
        task.head(channels, (1, 2, 8, 16))


def test_loss_is_finite_and_decreases(tiny_model, losses):
    task = get_task("det")
    history = losses(task, tiny_model(task))
    assert all(math.isfinite(v) for v in history) and history[-1] < 0.7 * history[0]
