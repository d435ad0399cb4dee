"""Training data: the seven classes and labels from names, a user's folder as a dataset, the packaged corpus."""
