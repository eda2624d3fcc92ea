"""The ``galvision`` command: LightningCLI (fit/validate/test/predict) plus ``benchmark``."""

from __future__ import annotations

import importlib
import re
import sys
from argparse import ArgumentError, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

import torch
from jsonargparse import DefaultHelpFormatter, set_parsing_settings
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI
from omegaconf.errors import OmegaConfBaseException

from galvision import __version__
from galvision.benchmark.command import BENCHMARKS
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

DESCRIPTION = "Train, evaluate and apply galvision tasks from YAML configs, or run a benchmark."
_MISSING_CLASS = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_NOISE = (
    "Expected a <class 'NoneType'>",
    "Given value",
    "Subtypes:",
    "Errors:",
    "Does not validate",
    "Problem with given class_path",
)


class HelpFormatter(RawDescriptionHelpFormatter, DefaultHelpFormatter):
    """jsonargparse's help, with the description and epilog kept line by line."""


def benchmark_epilog() -> str:
    """The ``benchmark`` command and its sub-commands, as the main help lists them."""
    width = max(map(len, BENCHMARKS))
    lines = [f"  {name:<{width}}  {text}" for name, (_, text) in BENCHMARKS.items()]
    return "\n".join(
        [
            "benchmark: measure models beside classical baselines on one test set",
            "  (galvision benchmark <name> --help)",
            *lines,
            "",
            "export: a checkpoint's backbone as timm weights and config (galvision export --help)",
            "label: label galaxies in the browser, active learning choosing which "
            "(galvision label --help)",
        ]
    )


DEFAULTS = Path(__file__).with_name("defaults.yaml")  # the trainer base of every run
SUBCOMMANDS = ("fit", "validate", "test", "predict")
# Commands beside LightningCLI's, each imported only when called: module:function(argv).
VERBS = {
    "benchmark": "galvision.benchmark.command:benchmark_main",
    "search": "galvision.embeddings.search_command:search_main",
    "cluster": "galvision.embeddings.cluster_command:cluster_main",
    "outliers": "galvision.embeddings.outliers_command:outliers_main",
    "export": "galvision.export:export_main",
    "label": "galvision.label.command:label_main",
}
MODEL_CHECKPOINT = "lightning.pytorch.callbacks.ModelCheckpoint"


def parser_settings(subcommands: bool = True) -> dict:
    """LightningCLI parser arguments: omegaconf interpolation, the base config of every run.

    With ``subcommands`` (the command line) each of fit/validate/test/predict starts from the
    base; without (a run configured in Python) the one parser does.
    """
    common = {"parser_mode": "omegaconf+", "default_env": False, "exit_on_error": False}
    main = {
        **common,
        "prog": "galvision",
        "description": DESCRIPTION,
        "epilog": benchmark_epilog(),
        "formatter_class": HelpFormatter,
    }
    base = {"default_config_files": [str(DEFAULTS)]}
    if not subcommands:
        return {**main, **base}
    return {**main, **{name: {**common, **base} for name in SUBCOMMANDS}}


def fill_checkpoint_monitor(config: Any) -> None:
    """Give ModelCheckpoints with neither ``monitor`` nor ``filename`` the task's metric.

    One with a fixed file name (``last``) keeps the latest weights instead.
    """
    class_path = config.get("model", {}).get("class_path") if hasattr(config, "get") else None
    if not class_path:
        return
    module, _, name = class_path.rpartition(".")
    model_class = getattr(importlib.import_module(module), name)
    if hasattr(model_class, "monitor_for"):
        metric, mode = model_class.monitor_for(config.model.get("init_args"))
    else:
        metric, mode = getattr(model_class, "monitor", (None, None))
    for callback in config.trainer.get("callbacks") or []:
        settings = callback.get("init_args")
        if callback.get("class_path") != MODEL_CHECKPOINT or settings is None or metric is None:
            continue
        if settings.get("monitor") is None and settings.get("filename") is None:
            settings.monitor, settings.mode = metric, mode
            short = metric.rpartition("/")[2]
            settings.filename = f"step{{step}}-{short}{{{metric}:.4f}}"


class GalvisionCLI(LightningCLI):
    """LightningCLI with omegaconf interpolation and any GalaxyTask / GalaxyDataModule.

    Every run starts from ``galvision/defaults.yaml`` (the shared trainer and logging base);
    the configs given with ``--config`` and the command line override it.
    """

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        super().__init__(
            GalaxyTask,
            GalaxyDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            parser_kwargs=parser_settings(subcommands=run),
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            args=args,
            run=run,
        )

    def setup_parser(
        self, add_subcommands: bool, main_kwargs: dict[str, Any], subparser_kwargs: dict[str, Any]
    ) -> None:
        """Lightning's parser with its sub-commands, plus ``--version``."""
        super().setup_parser(add_subcommands, main_kwargs, subparser_kwargs)
        self.parser.add_argument(
            "--version",
            action="version",
            version=f"galvision {__version__}",
            help="Print the galvision version and exit.",
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
        """Fill checkpoint monitors; refuse to evaluate or predict with an untrained model."""
        config = self.config.get(self.config.get("subcommand") or "", self.config)
        fill_checkpoint_monitor(config)
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


def configuration_reason(error: Exception) -> str | None:
    """The one-line reason of a galvision or configuration error; None for any other error."""
    if isinstance(error, GalvisionError):
        return str(error)
    return summarize_config_error(error) if _is_config_error(error) else None


def main(args: list[str] | None = None) -> None:
    """Entry point of ``galvision``; ``args`` defaults to the command line."""
    argv = sys.argv[1:] if args is None else list(args)
    load_plugins()
    torch.set_float32_matmul_precision("high")
    # Interpolations such as ${trainer.default_root_dir} resolve after the command line, so
    # --trainer.default_root_dir moves the logs and checkpoints too.
    set_parsing_settings(omegaconf_absolute_to_relative_paths=True)
    try:
        if argv and argv[0] in VERBS:
            module, function = VERBS[argv[0]].split(":")
            getattr(importlib.import_module(module), function)(argv[1:])
        else:
            GalvisionCLI(args=args)
    except GalvisionError as error:
        sys.exit(f"galvision: error: {error}")
    except (ArgumentError, ValueError) as error:
        if not _is_config_error(error):
            raise
        sys.exit(f"galvision: error: {summarize_config_error(error)}")
