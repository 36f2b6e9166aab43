"""Confounded designs: claimed labels assigned by photo source, made explicit."""
