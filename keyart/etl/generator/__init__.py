"""Building blocks of the synthetic raw-event generator behind `keyart generate`."""
