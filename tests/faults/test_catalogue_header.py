"""A catalogue header with a repeated column is refused; Excel's byte-order mark is dropped."""

import numpy as np
import pytest
from PIL import Image

from galvision.data.csv_catalogues import ImageFolderCatalogueDataset
from galvision.errors import DataError


def catalogue(folder, header: str, rows: list[str], bom: bool = False):
    for i in range(len(rows)):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"g{i}.png")
    path = folder / "cat.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8-sig" if bom else "utf-8")
    return path


def test_a_repeated_column_is_refused(tmp_path):
    path = catalogue(tmp_path, "path,label,label", ["g0.png,0,1", "g1.png,1,0"])
    with pytest.raises(DataError, match=rf"{path}: column label appears twice in the header"):
        ImageFolderCatalogueDataset(path, size=8)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = catalogue(tmp_path, "path,label", ["g0.png,0", "g1.png,1"], bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    dataset = ImageFolderCatalogueDataset(path, size=8)
    assert dataset.labels.tolist() == [0, 1] and dataset.names == ["g0", "g1"]
