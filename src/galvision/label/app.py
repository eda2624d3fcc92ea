"""The labelling web app: one page and a small JSON API over a ``LabelSession``.

Endpoints: ``GET /api/state``, ``GET /api/next``, ``GET /api/galaxies/{row}`` (scores),
``GET /api/galaxies/{row}/image.png``, ``POST /api/labels``, ``POST /api/undo``,
``POST /api/release``, ``GET /api/labels.csv``, and ``GET /files/{path}`` for the catalogue's
own files, which refuses any path that resolves outside the catalogue root.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from pydantic import BaseModel, Field

from galvision.label.session import LabelError, LabelSession
from galvision.plotting import display_rgb

STATIC = Path(__file__).with_name("static")
MAX_PAGE = 200
MAX_ZOOM = 8
NAME_PATTERN = r"^[\w .@-]{1,64}$"  # labeller names: printable, short, no markup


class LabelRequest(BaseModel):
    """A label for one galaxy, from one labeller."""

    row: int
    label: str
    labeller: str = Field(pattern=NAME_PATTERN)


class LabellerRequest(BaseModel):
    """A request that names only its labeller (undo, release)."""

    labeller: str = Field(pattern=NAME_PATTERN)


def png_bytes(pixels: np.ndarray, zoom: int) -> bytes:
    """8-bit pixels as PNG, each pixel drawn ``zoom``×``zoom``."""
    image = Image.fromarray(pixels)
    if zoom > 1:
        image = image.resize((image.width * zoom, image.height * zoom), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def served_file(root: Path | None, relative: str) -> Path:
    """The file ``relative`` names under ``root``; 404 for anything else, traversal included."""
    if root is None:
        raise HTTPException(404, "this catalogue has no files to serve")
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        raise HTTPException(404, f"no file {relative!r} under the catalogue root")
    return target


def create_app(session: LabelSession) -> FastAPI:
    """The app serving ``session``: the page at ``/``, the API under ``/api``."""
    app = FastAPI(title="galvision label", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.exception_handler(LabelError)
    def refused(_: Request, error: LabelError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=error.status)

    @lru_cache(maxsize=4096)
    def picture(row: int, zoom: int) -> bytes:
        display = session.pool.pictures(np.array([row]))[0]
        return png_bytes(display_rgb(display), zoom)

    @app.get("/api/state")
    def state() -> dict:
        return session.state()

    @app.get("/api/next")
    def next_page(
        labeller: str = Query(pattern=NAME_PATTERN),
        count: int = Query(24, ge=1, le=MAX_PAGE),
        strategy: str | None = None,
    ) -> list[dict]:
        return session.next_page(labeller, count, strategy)

    @app.get("/api/galaxies/{row}")
    def galaxy(row: int) -> dict:
        return session.galaxy(row)

    @app.get("/api/galaxies/{row}/image.png")
    def image(row: int, zoom: int = Query(1, ge=1, le=MAX_ZOOM)) -> Response:
        session.check_row(row)
        return Response(picture(row, zoom), media_type="image/png")

    @app.post("/api/labels", status_code=201)
    def add_label(request: LabelRequest) -> dict:
        stored = session.label(request.row, request.label, request.labeller)
        return {"id": stored.id, "row": stored.row, "label": stored.label, **counts(session)}

    @app.post("/api/undo")
    def undo(request: LabellerRequest) -> dict:
        undone = session.undo(request.labeller)
        return {"row": undone.row, "label": undone.label, **counts(session)}

    @app.post("/api/release")
    def release(request: LabellerRequest) -> dict:
        session.store.release(request.labeller)
        return {"released": request.labeller}

    @app.get("/api/labels.csv")
    def export() -> PlainTextResponse:
        headers = {"Content-Disposition": 'attachment; filename="labels.csv"'}
        return PlainTextResponse(session.export_csv(), media_type="text/csv", headers=headers)

    @app.get("/files/{relative:path}")
    def files(relative: str) -> FileResponse:
        return FileResponse(served_file(session.pool.root, relative))

    @app.get("/")
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def no_icon() -> Response:
        return Response(status_code=204)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def counts(session: LabelSession) -> dict:
    """The label count and model version, returned with every change."""
    return {"labels": session.store.count(), "version": session.model.version}
