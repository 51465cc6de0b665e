"""Customer lifetime value: buy-till-you-die models, spend, value tiers and holdout validation."""
