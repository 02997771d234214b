"""bench/run.sh's driver: figures.py measures, report.py writes, plots.py draws."""
