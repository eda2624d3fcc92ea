"""The HTTP API: labels, undo, export, pictures, and every refusal with its status code."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from galvision.label.app import create_app
from galvision.label.pool import Pool
from galvision.label.session import LabelSession
from helpers.labelling import CLASSES, toy_session


@pytest.fixture
def served(tmp_path: Path) -> tuple[TestClient, LabelSession, object]:
    session, truth = toy_session(tmp_path / "db" / "labels.sqlite")
    root = tmp_path / "catalogue"
    (root / "cutouts").mkdir(parents=True)
    (root / "cutouts" / "toy-0.fits").write_bytes(b"SIMPLE")
    (tmp_path / "secret.txt").write_text("not yours")
    session.pool = Pool(session.pool.names, session.pool.embeddings, session.pool.pictures, root)
    with TestClient(create_app(session)) as client:
        yield client, session, truth


def test_label_undo_and_export(served) -> None:
    client, _, truth = served
    page = client.get("/api/next", params={"labeller": "ann", "count": 5}).json()
    assert len(page) == 5
    for galaxy in page:
        row = galaxy["row"]
        answer = client.post(
            "/api/labels", json={"row": row, "label": CLASSES[truth[row]], "labeller": "ann"}
        )
        assert answer.status_code == 201
    assert answer.json()["labels"] == 5 and answer.json()["version"] == 1
    undone = client.post("/api/undo", json={"labeller": "ann"}).json()
    assert undone["row"] == page[-1]["row"] and undone["labels"] == 4
    exported = client.get("/api/labels.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = [int(line.split(",")[0]) for line in exported.text.splitlines()[1:]]
    assert rows == [galaxy["row"] for galaxy in page[:4]]
    state = client.get("/api/state").json()
    assert state["labels"] == 4 and state["classes"] == CLASSES


def test_refusals_are_4xx_with_a_message(served) -> None:
    client, _, _ = served
    bad_row = client.post("/api/labels", json={"row": 999, "label": "smooth", "labeller": "ann"})
    assert bad_row.status_code == 404 and "999" in bad_row.json()["detail"]
    bad_class = client.post("/api/labels", json={"row": 1, "label": "ring", "labeller": "ann"})
    assert bad_class.status_code == 422 and "'ring'" in bad_class.json()["detail"]
    bad_name = client.post("/api/labels", json={"row": 1, "label": "smooth", "labeller": "<b>"})
    assert bad_name.status_code == 422
    assert client.get("/api/galaxies/-1/image.png").status_code == 404
    assert client.get("/api/galaxies/abc").status_code == 422
    assert client.post("/api/undo", json={"labeller": "nobody"}).status_code == 404
    assert client.get("/api/next", params={"labeller": "ann", "strategy": "x"}).status_code == 400
    leased = client.get("/api/next", params={"labeller": "ann", "count": 1}).json()[0]["row"]
    taken = client.post("/api/labels", json={"row": leased, "label": "smooth", "labeller": "bob"})
    assert taken.status_code == 409


def test_files_only_under_the_catalogue_root(served) -> None:
    client, _, _ = served
    assert client.get("/files/cutouts/toy-0.fits").content == b"SIMPLE"
    for attempt in ("../secret.txt", "..%2Fsecret.txt", "cutouts/../../secret.txt"):
        answer = client.get(f"/files/{attempt}")
        assert answer.status_code == 404, attempt
        assert b"not yours" not in answer.content
    assert client.get("/files/%2Fetc%2Fpasswd").status_code == 404


def test_pictures_are_pngs_of_the_zoomed_size(served) -> None:
    client, _, _ = served
    answer = client.get("/api/galaxies/3/image.png", params={"zoom": 4})
    assert answer.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(answer.content)).size == (32, 32)
    assert client.get("/").text.startswith("<!doctype html>")


def test_two_labellers_at_once_never_share_a_galaxy(served) -> None:
    client, session, truth = served
    shown: dict[str, list[set[int]]] = {"ann": [], "bob": []}
    errors: list[str] = []

    def labeller(name: str) -> None:
        for _ in range(6):
            page = client.get("/api/next", params={"labeller": name, "count": 4}).json()
            shown[name].append({galaxy["row"] for galaxy in page})
            for galaxy in page:
                row = galaxy["row"]
                answer = client.post(
                    "/api/labels", json={"row": row, "label": CLASSES[truth[row]], "labeller": name}
                )
                if answer.status_code != 201:
                    errors.append(answer.text)

    threads = [threading.Thread(target=labeller, args=(name,)) for name in shown]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    ann, bob = set().union(*shown["ann"]), set().union(*shown["bob"])
    assert not ann & bob
    assert session.store.count() == len(ann) + len(bob) == 48
