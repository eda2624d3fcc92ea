"""The page in a real headless Chromium: label 10 galaxies by keyboard, watch the learner
retrain and the plot grow, export the CSV."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from galvision.data.exported_labels import read_exported_labels
from galvision.data.row_tables import row_names
from galvision.embeddings.catalogue import load_datamodule
from helpers.labelling import serve

sync_api = pytest.importorskip("playwright.sync_api")
CONF = Path(__file__).resolve().parents[1] / "conf"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless on a closed network: no sandbox (root in CI), nothing phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api.expect.set_options(timeout=30_000)  # a busy 2-core machine retrains slowly
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium)"
)


@pytest.mark.timeout(600)
def test_label_ten_by_keyboard_then_export(tmp_path: Path, tiny_mae: Path) -> None:
    arguments = ["--config", str(CONF / "label.yaml"), "--backbone", str(tiny_mae)]
    arguments += ["--database", str(tmp_path / "labels.sqlite")]
    process, url = serve(arguments, tmp_path / "server.log")
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(accept_downloads=True)
            page.add_init_script("localStorage.setItem('galvision-labeller', 'tester')")
            page.goto(url)
            cards = page.locator(".card")
            sync_api.expect(cards.first).to_be_visible()
            for count in range(10):
                sync_api.expect(page.locator("#counts")).to_contain_text(f"{count} labelled")
                page.keyboard.press("1" if count % 2 else "2")
            sync_api.expect(page.locator("#counts")).to_contain_text("10 labelled")
            sync_api.expect(page.locator("#model")).to_have_attribute("data-version", "2")
            sync_api.expect(page.locator("#plot")).not_to_have_attribute("data-points", "0")
            assert page.locator("#plot polyline").count() == 2
            assert "%" in cards.first.locator(".score").inner_text()  # scored by the learner
            page.screenshot(path=str(tmp_path / "label_page.png"))
            with page.expect_download() as download:
                page.click("#export")
            exported = tmp_path / "labels.csv"
            download.value.save_as(exported)
            browser.close()
    finally:
        process.kill()
        process.wait()
    rows = list(csv.DictReader(exported.open()))
    assert len(rows) == 10
    assert {row["labeller"] for row in rows} == {"tester"}
    assert sorted(row["label"] for row in rows) == ["featured"] * 5 + ["smooth"] * 5
    catalogue = load_datamodule(CONF / "tiny_morphology.yaml").catalogue()
    trainable, _ = read_exported_labels(exported, row_names(catalogue), ["smooth", "featured"])
    assert len(trainable) == 10  # what `galvision fit` with ExportedLabelsDataModule reads
