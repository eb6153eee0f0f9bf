"""Harmonise and compute: typed records, lineage, attribution, monthly downloads and shares."""
