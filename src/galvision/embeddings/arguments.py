"""What every embeddings verb takes: the shards, the vectors' kind, the catalogue, the output."""

from __future__ import annotations

import argparse
from pathlib import Path

from galvision.folders import check_writable

KINDS = ("embedding", "aligned")


def embeddings_parser(prog: str, description: str | None, output: str) -> argparse.ArgumentParser:
    """A verb's parser holding the shared arguments; ``output``: its default output folder."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("embeddings", type=Path, help="folder of galvision predict's shards")
    parser.add_argument(
        "--kind", choices=KINDS, help="backbone embeddings, or the alignment head's (aligned)"
    )
    parser.add_argument("--data", type=Path, help="the catalogue's data config, for pictures")
    parser.add_argument("--output", type=Path, default=Path(output))
    return parser


def parse_verb(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parsed arguments, the output folder checked before any work."""
    args = parser.parse_args(argv)
    check_writable(args.output, "--output")
    return args
