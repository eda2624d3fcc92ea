"""galvision: multi-task deep learning for galaxy images on one foundation ViT backbone."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("galvision")
except PackageNotFoundError:  # a source tree on the path that was never installed
    __version__ = "0+unknown"
