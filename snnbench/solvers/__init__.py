"""Convex solvers for recon's L1-regularised readouts, with duality-gap certificates."""
