"""The package's version, in a module that imports nothing of the package, so
that any module may read it (persistence and the exports write it into what
they save) without importing the package's ``__init__``; setup.cfg reads it
here too."""

__version__ = "0.1.0"
