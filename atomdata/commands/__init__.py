"""The commands of the ``atomdata`` command line, one module each (wired into the click group in
``atomdata.cli``): the top layer, above every layer whose work a command runs.

- ``ingest_dump``, ``ingest_hub``, ``ingest_archive``: ``atomdata ingest dump``, ``hub``, ``archive``.
- ``build``, ``validate``: ``atomdata build``, ``atomdata validate``.
- ``publish``: ``atomdata figures``, ``atomdata release``.
- ``common``: what the commands share (one-line errors; the Hub connection and retry options, the
  token, how a run ends); ``progress``: the progress bar of the commands that talk to the Hub.

A module here imports click and light modules only at its top; the work of a command (pandas,
pyarrow, matplotlib, huggingface_hub, ...) is imported inside it, when it runs, so that
``atomdata --help`` stays fast and huggingface_hub reads the environment of the command that runs
(see ``atomdata.ingest``).
"""
