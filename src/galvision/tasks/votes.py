"""Galaxy Zoo vote counts as targets: the Dirichlet-multinomial likelihood (as zoobot uses).

Volunteers' votes over K answers are counts, not one label: a galaxy with 30 of 40 votes for
"spiral" is evidence of a different strength than one with 3 of 4. The classifier's logits
are read as the log-concentrations of a Dirichlet over the vote fractions, so its softmax is
the expected vote fraction and their overall level its confidence; the votes are a
multinomial draw from those fractions. torch.distributions has no Dirichlet-multinomial, so
its log-likelihood is written here from log-gamma functions.
"""

from __future__ import annotations

import torch

# Log-concentrations are clamped to e^-8 .. e^8: wider concentrations add nothing to the fit.
LOG_CONCENTRATION_LIMIT = 8.0


def dirichlet_multinomial_nll(log_concentration: torch.Tensor, votes: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of vote counts (B, K) given log-concentrations (B, K).

    Rows without any vote contribute nothing.
    """
    alpha = log_concentration.clamp(-LOG_CONCENTRATION_LIMIT, LOG_CONCENTRATION_LIMIT).exp()
    votes = votes.to(alpha)
    total, alpha_sum = votes.sum(-1), alpha.sum(-1)
    log_likelihood = (
        torch.lgamma(total + 1)
        + torch.lgamma(alpha_sum)
        - torch.lgamma(total + alpha_sum)
        + (torch.lgamma(votes + alpha) - torch.lgamma(alpha) - torch.lgamma(votes + 1)).sum(-1)
    )
    voted = total > 0
    if not voted.any():
        return log_concentration.sum() * 0.0
    return -log_likelihood[voted].mean()
