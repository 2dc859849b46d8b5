"""`profit pipeline`: a grid of base models x objectives x thresholds x seeds, trained, evaluated and reported."""
