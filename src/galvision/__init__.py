"""galvision: multi-task deep learning for galaxy images on one foundation ViT backbone."""

__version__ = "0.1.0"
