"""The report, built from results by one command (figure scripts write ``paper/figures/<name>.*``)."""
