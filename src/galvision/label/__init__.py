"""Human-in-the-loop labelling in the browser, with active learning choosing what to show."""
