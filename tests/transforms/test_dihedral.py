import torch

from galvision.data import keys
from galvision.transforms import DIHEDRAL_ORDER, IndexedDihedral, RandomDihedral, dihedral
from galvision.transforms.dihedral import dihedral_boxes


def test_random_dihedral_turns_every_pixel_entry_and_the_boxes_together():
    image = torch.zeros(6, 1, 16, 16)
    image[:, 0, 2:5, 9:14] = 1.0  # x 9-14, y 2-5
    boxes = [torch.tensor([[9.0, 2.0, 14.0, 5.0]]) for _ in range(6)]
    batch = {keys.IMAGE: image, keys.TARGET: image * 2, keys.BOXES: boxes}
    out = RandomDihedral()(batch, "train")
    for i in range(6):
        turned, box = out[keys.IMAGE][i, 0], out[keys.BOXES][i][0].long()
        assert torch.equal(out[keys.TARGET][i], 2 * out[keys.IMAGE][i])
        assert turned[box[1] : box[3], box[0] : box[2]].sum() == 15  # the box holds the blob
        assert turned.sum() == 15
        assert any(torch.equal(turned, dihedral(image[i, 0], k)) for k in range(DIHEDRAL_ORDER))


def test_every_transform_is_drawn_and_evaluation_is_untouched():
    image = torch.arange(16.0).view(1, 1, 4, 4).expand(400, -1, -1, -1)
    out = RandomDihedral()({keys.IMAGE: image}, "train")[keys.IMAGE]
    seen = {
        k for k in range(DIHEDRAL_ORDER) for row in out if torch.equal(row, dihedral(image[0], k))
    }
    assert seen == set(range(DIHEDRAL_ORDER))
    assert RandomDihedral()({keys.IMAGE: image}, "val")[keys.IMAGE] is image


def test_boxes_follow_each_transform():
    image = torch.zeros(1, 8, 8)
    image[0, 1, 5] = 1.0  # pixel x=5, y=1
    box = torch.tensor([[5.0, 1.0, 6.0, 2.0]])
    for k in range(DIHEDRAL_ORDER):
        x0, y0, x1, y1 = dihedral_boxes(box, k, 8)[0].long().tolist()
        assert dihedral(image, k)[0, y0:y1, x0:x1].sum() == 1.0


def test_indexed_dihedral_turns_by_the_index_outside_training_only():
    image = torch.arange(16.0).view(1, 1, 4, 4).expand(9, -1, -1, -1)
    batch = {keys.IMAGE: image, keys.INDEX: torch.arange(9)}
    out = IndexedDihedral()(batch, "val")[keys.IMAGE]
    for index in range(9):
        assert torch.equal(out[index], dihedral(image[0], 1 + index % 7))
    assert IndexedDihedral()(batch, "train") is batch
