"""Demarche's benchmarks: a workload generator, timed jobs beside their floors, one table.

Run ``make bench`` (full size) or ``make bench QUICK=1``; see ``bench/__main__.py``.
"""
