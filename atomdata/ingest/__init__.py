"""Ingestion layer: get Hub metadata into immutable dated snapshots (dump import, live Hub listing)."""
