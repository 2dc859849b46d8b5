"""Plots of the report; each module draws one figure and writes the tidy CSV it was drawn from."""
