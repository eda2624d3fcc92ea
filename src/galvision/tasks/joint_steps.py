"""Steps that train every task of a MultiTask at once: each task's share of its batch, and the
tasks' gradients on the shared backbone combined by an aggregator."""

from __future__ import annotations

import torch
from torchjd.aggregation import Aggregator


def share_of(batch: dict, share: float) -> dict:
    """The first ``share`` of ``batch`` (at least one item): its tensors and lists cut alike."""
    size = next(len(value) for value in batch.values() if isinstance(value, torch.Tensor))
    count = min(max(round(share * size), 1), size)
    return {
        key: value[:count] if isinstance(value, torch.Tensor | list | tuple) else value
        for key, value in batch.items()
    }


def flat(grad: torch.Tensor | None, parameter: torch.Tensor) -> torch.Tensor:
    """``grad`` of ``parameter`` as a vector, zeros where the parameter had no part."""
    return (torch.zeros_like(parameter) if grad is None else grad).flatten()


def accumulate(parameter: torch.Tensor, grad: torch.Tensor) -> None:
    """Add ``grad`` to ``parameter``'s gradient, as a backward pass would."""
    parameter.grad = grad.detach().clone() if parameter.grad is None else parameter.grad + grad


def aggregated_backward(
    losses: list[torch.Tensor],
    shared: list[torch.Tensor],
    own: list[torch.Tensor],
    aggregator: Aggregator,
) -> None:
    """Gradients of the task ``losses``: on the ``shared`` parameters, the rows of their
    Jacobian combined by ``aggregator``; on the others (``own``: heads, per-task offsets), the
    sum of each task's own, as a plain backward pass would give."""
    # Each task's gradient by its own backward pass, which reaches only its share of the step:
    # the Jacobian's rows for the cost of one pass over the whole step.
    rows = []
    for task_loss in losses:
        grads = torch.autograd.grad(
            task_loss, [*shared, *own], retain_graph=True, allow_unused=True
        )
        on_shared, on_own = grads[: len(shared)], grads[len(shared) :]
        rows.append(torch.cat([flat(g, p) for g, p in zip(on_shared, shared, strict=True)]))
        for grad, p in zip(on_own, own, strict=True):
            if grad is not None:
                accumulate(p, grad)
    combined = aggregator(torch.stack(rows))
    for part, p in zip(combined.split([p.numel() for p in shared]), shared, strict=True):
        accumulate(p, part.view_as(p))
