"""CenterNet head and box geometry: targets, decoding, NMS, dihedral boxes, losses."""

import math

import pytest
import torch
from torchvision.ops import box_iou

from galvision.backbones import Backbone
from galvision.heads import CenterNetHead
from galvision.heads.boxes import (
    count_matches,
    decode,
    encode_targets,
    gaussian_radius,
)
from galvision.heads.centernet import centre_l1_loss, heatmap_focal_loss
from galvision.transforms.dihedral import dihedral, dihedral_boxes

STRIDE = 4
BOXES = torch.tensor(
    [
        [4.0, 6.0, 20.0, 18.0],
        [30.5, 33.0, 41.0, 50.5],
        [44.0, 2.0, 62.0, 16.0],
        [2.0, 40.0, 9.0, 47.0],
    ]
)


def perfect_outputs(boxes: list[torch.Tensor], size: int = 64) -> dict[str, torch.Tensor]:
    """Heatmap, size and offset maps holding exactly the targets of ``boxes``."""
    cells = size // STRIDE
    targets = encode_targets(boxes, (cells, cells), STRIDE)
    maps = {}
    for name, values in (("size", targets.size), ("offset", targets.offset)):
        flat = torch.zeros(len(boxes), cells * cells, 2)
        for i in range(len(boxes)):
            keep = targets.mask[i]
            flat[i, targets.index[i, keep]] = values[i, keep]
        maps[name] = flat.transpose(1, 2).reshape(len(boxes), 2, cells, cells)
    return {"heatmap": targets.heatmap, **maps}


def test_encoded_targets_decode_to_the_same_boxes():
    outputs = perfect_outputs([BOXES, BOXES[:1]])
    detections = decode(outputs["heatmap"], outputs["size"], outputs["offset"], STRIDE, k=10)
    assert [len(d["boxes"]) for d in detections] == [4, 1]
    iou = box_iou(detections[0]["boxes"], BOXES)
    assert (iou.amax(0) > 0.9).all()
    assert torch.allclose(iou.amax(0), torch.ones(4))  # the targets are exact
    assert torch.equal(detections[0]["scores"], torch.ones(4))
    assert torch.equal(detections[1]["labels"], torch.zeros(1, dtype=torch.long))


def test_heatmap_peaks_are_one_at_each_centre_and_wider_for_larger_boxes():
    small, large = torch.tensor([[28.0, 28, 36, 36]]), torch.tensor([[8.0, 8, 56, 56]])
    targets = encode_targets([small, large, torch.zeros(0, 4)], (16, 16), STRIDE)
    heat = targets.heatmap[:, 0]
    assert torch.equal((heat == 1).flatten(1).sum(1), torch.tensor([1, 1, 0]))
    assert heat[0, 8, 8] == 1 and heat[1, 8, 8] == 1
    assert (heat[1] > 0.01).sum() > (heat[0] > 0.01).sum()
    assert not targets.mask[2].any() and heat[2].abs().sum() == 0
    assert torch.allclose(targets.offset[0, 0], torch.zeros(2))
    assert torch.allclose(targets.size[1, 0], torch.tensor([12.0, 12.0]))


def test_gaussian_radius_follows_centernet():
    # CenterNet's gaussian_radius((32, 32), 0.7) is min(r1, r2, r3) = r3 here.
    o, a = 0.7, 32.0 * 32.0
    b3 = -2 * o * 64
    expected = (b3 + math.sqrt(b3**2 - 16 * o * (o - 1) * a)) / 2
    radius = gaussian_radius(torch.tensor(32.0), torch.tensor(32.0))
    assert radius.item() == pytest.approx(expected)


def test_nms_keeps_the_best_of_duplicate_boxes():
    heat = torch.zeros(1, 1, 16, 16)
    heat[0, 0, 8, 6], heat[0, 0, 8, 8] = 0.6, 0.9  # two peaks, two cells apart
    size = torch.full((1, 2, 16, 16), 8.0)  # 32-pixel boxes overlapping at IoU 0.6
    detections = decode(heat, size, torch.zeros(1, 2, 16, 16), STRIDE, k=10, score_threshold=0.1)
    assert detections[0]["scores"].tolist() == pytest.approx([0.9])
    assert detections[0]["boxes"].tolist() == [[16.0, 16.0, 48.0, 48.0]]
    apart = decode(heat, torch.full_like(size, 1.0), torch.zeros_like(size), STRIDE, k=10)
    assert len(apart[0]["boxes"]) == 2


def test_decode_respects_threshold_top_k_and_the_image_edge():
    heat = torch.zeros(1, 1, 8, 8)
    heat[0, 0, 0, 0], heat[0, 0, 4, 4], heat[0, 0, 6, 1] = 0.8, 0.5, 0.04
    size = torch.full((1, 2, 8, 8), 2.0)
    offset = torch.zeros(1, 2, 8, 8)
    assert len(decode(heat, size, offset, STRIDE, k=10, score_threshold=0.05)[0]["boxes"]) == 2
    top = decode(heat, size, offset, STRIDE, k=1, score_threshold=0.0)[0]
    assert top["boxes"].tolist() == [[0.0, 0.0, 4.0, 4.0]]  # cut at the edge


@pytest.mark.parametrize("k", range(8))
def test_dihedral_boxes_follow_dihedral_images_pixel_exactly(k):
    box = torch.tensor([[3.0, 5.0, 9.0, 16.0]])
    image = torch.zeros(1, 20, 20)
    image[:, 5:16, 3:9] = 1
    turned = dihedral(image, k)[0]
    ys, xs = turned.nonzero(as_tuple=True)
    seen = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert dihedral_boxes(box, k, 20)[0].tolist() == [float(v) for v in seen]


def test_greedy_matching_counts_each_truth_box_once():
    truth = torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]])
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 60, 60]])
    assert count_matches(boxes, torch.tensor([0.9, 0.8, 0.7]), truth) == 1
    assert count_matches(boxes[:0], torch.zeros(0), truth) == 0


def test_focal_loss_is_small_for_right_heatmaps_and_reduced_near_peaks():
    target = encode_targets([torch.tensor([[20.0, 20, 44, 44]])], (16, 16), STRIDE).heatmap
    right = torch.where(target == 1, 12.0, -12.0)
    assert heatmap_focal_loss(right, target) < 1e-3
    one_cell = torch.full_like(target, -12.0)
    near, far = one_cell.clone(), one_cell.clone()
    near[0, 0, 8, 9] = far[0, 0, 0, 0] = 0.0  # a false alarm beside the peak or in a corner
    near[target == 1] = far[target == 1] = 12.0
    assert heatmap_focal_loss(near, target) < heatmap_focal_loss(far, target)
    empty = torch.zeros_like(target)
    assert torch.isfinite(heatmap_focal_loss(torch.zeros_like(target), empty))


def test_centre_l1_loss_averages_over_real_boxes_only():
    maps = torch.zeros(1, 2, 4, 4)
    maps[0, :, 1, 2] = torch.tensor([3.0, 4.0])
    index = torch.tensor([[6, 0]])
    target = torch.tensor([[[1.0, 1.0], [9.0, 9.0]]])
    loss = centre_l1_loss(maps, index, target, torch.tensor([[True, False]]))
    assert loss.item() == pytest.approx(5.0)


def test_head_outputs_at_the_output_stride_with_a_low_prior(tiny_backbone_kwargs):
    backbone = Backbone(**tiny_backbone_kwargs)
    head = CenterNetHead(backbone, num_maps=2, output_stride=4)
    image = torch.rand(2, 3, 32, 32)
    outputs = head(backbone.forward_maps(image, head.map_indices), image)
    assert outputs["heatmap"].shape == (2, 1, 8, 8)
    assert outputs["size"].shape == outputs["offset"].shape == (2, 2, 8, 8)
    assert head.heatmap[-1].bias.sigmoid().item() == pytest.approx(0.1)
    stride2 = CenterNetHead(backbone, num_maps=2, output_stride=2)
    assert stride2(backbone.forward_maps(image, [0, 1]), image)["heatmap"].shape[-1] == 16
    with pytest.raises(ValueError, match="output_stride=8"):
        CenterNetHead(backbone, output_stride=8)
