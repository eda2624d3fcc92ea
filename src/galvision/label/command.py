"""``galvision label``: label galaxies in the browser while active learning chooses which.

Reads a YAML config (``tasks/label.yaml``), embeds the catalogue with the foundation backbone
(cached), opens or resumes the SQLite label database, and serves the page with uvicorn on
loopback. Labels are exported as CSV from the page or ``GET /api/labels.csv``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from argparse import ArgumentError
from pathlib import Path

from jsonargparse import ActionConfigFile, ArgumentParser
from jsonargparse.typing import Path_fr

from galvision.errors import ConfigError
from galvision.label.acquisition import STRATEGIES
from galvision.label.pool import load_pool
from galvision.label.prior import load_prior
from galvision.label.session import LabelSession, SessionSettings
from galvision.label.store import LabelStore

log = logging.getLogger(__name__)


def label_parser() -> ArgumentParser:
    """The options of ``galvision label``, each settable in the YAML config."""
    parser = ArgumentParser(
        prog="galvision label",
        description=__doc__.splitlines()[0],
        exit_on_error=False,
        default_env=False,
    )
    parser.add_argument("--config", action=ActionConfigFile, help="a YAML of these options")
    parser.add_argument(
        "--catalogue", type=Path_fr, required=True, help="data config of the galaxies to label"
    )
    parser.add_argument("--classes", type=list[str], required=True, help="the label classes")
    parser.add_argument(
        "--backbone",
        type=str,
        default="foundation",
        help="foundation name, exported folder or checkpoint whose embeddings the learner uses",
    )
    parser.add_argument(
        "--invariant",
        type=bool,
        default=True,
        help="average each embedding over the 8 turns and flips (8x the one-off embedding)",
    )
    parser.add_argument(
        "--prior",
        type=str | None,
        default=None,
        help="a classification or alignment checkpoint whose scores the page shows before "
        "any label",
    )
    parser.add_argument(
        "--prior_classes",
        type=dict[str, str] | None,
        default=None,
        help="the prior's classes onto these classes (default: same names)",
    )
    parser.add_argument(
        "--prior_weight", type=float, default=1.0, help="probabilities × prior^weight"
    )
    parser.add_argument("--database", type=str, default="runs/label/labels.sqlite")
    parser.add_argument("--strategy", type=str, default="kcentre", help=", ".join(STRATEGIES))
    parser.add_argument("--retrain_every", type=int, default=5, help="labels between retrains")
    parser.add_argument("--lease_seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", type=str, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    return parser


def parse_label_args(argv: list[str]):
    """The parsed options; a bad key or value is one line naming it."""
    try:
        return label_parser().parse_args(argv)
    except ArgumentError as error:
        raise ConfigError(f"galvision label: {str(error).splitlines()[0]}") from None


def open_session(args) -> LabelSession:
    """The session the options describe: pool embedded (or read back), store opened."""
    database = Path(args.database)
    settings = SessionSettings(
        strategy=args.strategy,
        retrain_every=args.retrain_every,
        lease_seconds=args.lease_seconds,
        seed=args.seed,
        prior_weight=args.prior_weight,
    )
    catalogue = Path(args.catalogue.absolute)
    pool = load_pool(catalogue, args.backbone, database.parent, args.invariant)
    if args.prior is not None:
        prior = load_prior(
            Path(args.prior), catalogue, args.classes, args.prior_classes, database.parent
        )
        pool = dataclasses.replace(pool, prior=prior)
    return LabelSession(pool, args.classes, LabelStore(database, args.classes), settings)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def label_main(argv: list[str]) -> None:
    """Serve the labelling page until interrupted."""
    import uvicorn

    from galvision.label.app import create_app

    args = parse_label_args(argv)
    if not is_loopback(args.host):
        log.warning(
            "galvision label: listening on %s lets anyone who reaches this machine label and "
            "read the catalogue; there is no login",
            args.host,
        )
    session = open_session(args)
    print(
        f"galvision label: http://{args.host}:{args.port}/ ({len(session.pool)} galaxies, "
        f"{session.store.count()} labelled, database {args.database})",
        flush=True,
    )
    try:
        uvicorn.run(create_app(session), host=args.host, port=args.port, log_level="warning")
    finally:
        session.close()
