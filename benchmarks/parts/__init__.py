"""The parts of ``benchmarks/bench.py``, one module each.

A part has ``run(cfg)``, which measures and returns its results (a dict; its
``"checks"`` rows, if any, go into the report's targets), and
``section(cfg, result)``, the lines of its section of the report. ``cfg`` is
the parsed command line of ``bench.py`` with its sizes.
"""
