"""Ingestion layer: get Hub metadata into immutable dated snapshots (dump import, live Hub listing,
archive backfill).

- ``store``: the snapshot store (manifests, sha256, atomic commit); ``fields``: the Hub's rules
  for a record's fields; ``dump``: check and import a local dump.
- ``client``: the retry layer every request to the Hub goes through; ``listing_client``: pages of
  ``/api/models`` on it; ``hub_records``: the Hub's model records as Arrow.
- ``hub``: the live listing (plan, list phase by phase, commit); ``checkpoint``: its resumable
  journal; ``ancestors``: the declared bases a listing lacks, fetched and cached.
- ``archive`` (with ``archive_history``, ``archive_read``): backfill from dataset archives.

The commands that run them (``atomdata ingest dump``, ``hub``, ``archive``) are in
``atomdata.commands``, the top layer: nothing here imports click.

huggingface_hub is imported inside the functions that use it, in every module here: it reads its
configuration (``HF_HOME`` and the token file, ``HF_HUB_OFFLINE``, ``HF_ENDPOINT``) from the
environment once, when it is imported, so importing it only when a command runs makes it read the
environment that command runs in, and keeps ``import atomdata`` and ``atomdata --help`` fast.
"""
