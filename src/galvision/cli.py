"""The ``galvision`` command: LightningCLI (fit/validate/test/predict) plus ``benchmark``."""

from __future__ import annotations

import re
import sys
import warnings
from argparse import ArgumentError
from typing import Any

import torch
from jsonargparse import set_parsing_settings
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI
from omegaconf.errors import OmegaConfBaseException

from galvision.cli_checks import (
    EVALUATING,
    UNTRAINED,
    UNTRAINED_HELP,
    check_checkpoint_path,
    check_config_files,
    check_last_checkpoint,
    check_output_folders,
    check_trained,
    interpolation_message,
    missing_class_message,
)
from galvision.data.datamodules import GalaxyDataModule
from galvision.errors import ConfigError, GalvisionError
from galvision.plugins import load_plugins
from galvision.tasks.base import GalaxyTask

# Tasks own the on-device batch preparation; the datamodule's empty hook is not a conflict.
warnings.filterwarnings("ignore", message=".*overridden `on_after_batch_transfer`.*")
_MISSING_CLASS = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_NOISE = (
    "Expected a <class 'NoneType'>",
    "Given value",
    "Subtypes:",
    "Errors:",
    "Does not validate",
    "Problem with given class_path",
)


class GalvisionCLI(LightningCLI):
    """LightningCLI with omegaconf interpolation and any GalaxyTask / GalaxyDataModule."""

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        super().__init__(
            GalaxyTask,
            GalaxyDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            parser_kwargs={
                "parser_mode": "omegaconf+",
                "default_env": False,
                "exit_on_error": False,
            },
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            args=args,
            run=run,
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        """Parse, with config files checked first and a broken interpolation named in one line."""
        if args is None or isinstance(args, list):
            check_config_files(sys.argv[1:] if args is None else args)
        try:
            super().parse_arguments(parser, args)
        except OmegaConfBaseException as error:
            raise ConfigError(interpolation_message(error)) from None

    def _prepare_subcommand_parser(
        self, klass: type, subcommand: str, **kwargs: Any
    ) -> LightningArgumentParser:
        """A subcommand's parser; those that evaluate or predict also take --untrained."""
        parser = super()._prepare_subcommand_parser(klass, subcommand, **kwargs)
        if subcommand in EVALUATING:
            parser.add_argument(f"--{UNTRAINED}", type=bool, default=False, help=UNTRAINED_HELP)
        return parser

    def before_instantiate_classes(self) -> None:
        """Refuse to evaluate or predict with an untrained model."""
        if self.subcommand:
            check_trained(self.subcommand, self.config[self.subcommand])

    def after_instantiate_classes(self) -> None:
        """Refuse output folders that cannot be written before any work starts."""
        super().after_instantiate_classes()
        if self.subcommand:
            check_output_folders(self.subcommand, self.trainer)

    def _parse_ckpt_path(self) -> None:
        """Refuse an unreadable --ckpt_path before Lightning reads hyperparameters from it."""
        subcommand = self.config.get("subcommand")
        if subcommand:
            check_checkpoint_path(self.config[subcommand])
        super()._parse_ckpt_path()

    def before_fit(self) -> None:
        """Refuse to resume from a last checkpoint that cannot be read."""
        if self.config.fit.get("ckpt_path") == "last":
            check_last_checkpoint(self.trainer)


def summarize_config_error(error: Exception) -> str:
    """The key at fault and the most specific reason of a jsonargparse error, on one line."""
    lines = [line.strip(" -") for line in str(error).splitlines() if line.strip()]
    key = ""
    if lines and lines[0].startswith("Parser key"):
        key = lines.pop(0).removeprefix("Parser key").strip(' ":') + ": "
    missing = next((m for m in map(_MISSING_CLASS.search, lines) if m), None)
    if missing:
        return key + missing_class_message(*missing.groups())
    reasons = [line for line in lines if not line.startswith(_NOISE)]
    return key + (reasons[-1] if reasons else " ".join(lines[:1]))


def _is_config_error(error: Exception) -> bool:
    return isinstance(error, ArgumentError) or "Union subtypes" in str(error)


def main(args: list[str] | None = None) -> None:
    """Entry point of ``galvision``; ``args`` defaults to the command line."""
    argv = sys.argv[1:] if args is None else list(args)
    load_plugins()
    torch.set_float32_matmul_precision("high")
    # Interpolations such as ${trainer.default_root_dir} resolve after the command line, so
    # --trainer.default_root_dir moves the logs and checkpoints too.
    set_parsing_settings(omegaconf_absolute_to_relative_paths=True)
    try:
        if argv and argv[0] == "benchmark":
            from galvision.benchmark.command import benchmark_main

            benchmark_main(argv[1:])
        else:
            GalvisionCLI(args=args)
    except GalvisionError as error:
        sys.exit(f"galvision: error: {error}")
    except (ArgumentError, ValueError) as error:
        if not _is_config_error(error):
            raise
        sys.exit(f"galvision: error: {summarize_config_error(error)}")


if __name__ == "__main__":
    main()
