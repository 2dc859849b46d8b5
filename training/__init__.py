"""Training: token-selective objectives and the `profit train` recipe."""
